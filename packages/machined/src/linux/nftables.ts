import { Code, TalosError } from '@talos-ts/cosi';
import { rtattr } from './netlink.ts';

// nf_tables over NETLINK_NETFILTER (uapi linux/netfilter/nf_tables.h, nfnetlink.h). Attribute
// values are big-endian unless the kernel treats them as raw register data (marks: host order).
const NFNL_SUBSYS_NFTABLES = 10;
const NFNL_MSG_BATCH_BEGIN = 0x10;
const NFNL_MSG_BATCH_END = 0x11;
const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLM_F_CREATE = 0x400;
const NLM_F_APPEND = 0x800;
const NLA_F_NESTED = 0x8000;

/** nf_tables message types. */
export const NftMsg = { NEWTABLE: 0, DELTABLE: 2, NEWCHAIN: 3, DELCHAIN: 5, NEWRULE: 6, DELRULE: 8, NEWSET: 9, NEWSETELEM: 12 } as const;

/** nfproto families. */
export const NfProto = { INET: 1, IPV4: 2, IPV6: 10 } as const;

/** Netfilter hooks of the inet family. */
export const NfHook = { PREROUTING: 0, INPUT: 1, FORWARD: 2, OUTPUT: 3, POSTROUTING: 4 } as const;

const NF_ACCEPT = 1;
const NFT_REG_VERDICT = 0;
const NFT_REG_1 = 1;
const NFT_META_MARK = 3;
const NFT_META_OIFNAME = 7;
const NFT_META_NFPROTO = 15;
const NFT_META_L4PROTO = 16;
const NFT_CMP_GT = 4;
const NFT_PAYLOAD_TRANSPORT_HEADER = 2;
const NFT_EXTHDR_OP_TCPOPT = 1;
const TCPOPT_MAXSEG = 2;
const IPPROTO_TCP = 6;
const NFT_CMP_EQ = 0;
const NFT_PAYLOAD_NETWORK_HEADER = 1;
const NFT_SET_ANONYMOUS = 0x1;
const NFT_SET_CONSTANT = 0x2;
const NFT_SET_INTERVAL = 0x4;
const NFT_SET_ELEM_INTERVAL_END = 0x1;
const IFNAMSIZ = 16;
// nft's datatype ids for set keys.
const TYPE_IPADDR = 7;
const TYPE_IP6ADDR = 8;

/** One netlink attribute (type, payload), padded to 4 bytes: the same layout as an rtattr. */
export const nla = rtattr;

/** A nested attribute (NLA_F_NESTED set, as libmnl does). */
export function nest(type: number, ...children: Buffer[]): Buffer {
  return nla(type | NLA_F_NESTED, Buffer.concat(children));
}

const str = (s: string): Buffer => Buffer.from(`${s}\0`, 'utf8');
const be32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
const host32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};

/** A netfilter message: nlmsghdr, nfgenmsg (family, version 0, res_id), attributes. */
export function nfMessage(opts: { type: number; flags: number; seq: number; family: number; resId?: number }, ...attrs: Buffer[]): Buffer {
  const body = Buffer.concat(attrs);
  const head = Buffer.alloc(20);
  head.writeUInt32LE(20 + body.length, 0);
  head.writeUInt16LE(opts.type, 4);
  head.writeUInt16LE(opts.flags, 6);
  head.writeUInt32LE(opts.seq, 8);
  head.writeUInt8(opts.family, 16);
  head.writeUInt8(0, 17);
  head.writeUInt16BE(opts.resId ?? 0, 18);
  return Buffer.concat([head, body]);
}

/** An nf_tables expression: NFTA_LIST_ELEM { NFTA_EXPR_NAME, NFTA_EXPR_DATA }. */
function expr(name: string, ...data: Buffer[]): Buffer {
  return nest(1, nla(1, str(name)), nest(2, ...data));
}

const dataValue = (type: number, value: Buffer): Buffer => nest(type, nla(1 /* NFTA_DATA_VALUE */, value));

/** The expressions nftables rules are built from (only the ones KubeSpan needs). */
export const Expr = {
  /** meta load <key> → reg 1. */
  metaLoad: (key: number): Buffer => expr('meta', nla(2 /* KEY */, be32(key)), nla(1 /* DREG */, be32(NFT_REG_1))),
  /** meta set <key> ← reg 1. */
  metaSet: (key: number): Buffer => expr('meta', nla(2 /* KEY */, be32(key)), nla(3 /* SREG */, be32(NFT_REG_1))),
  /** reg 1 == data. */
  cmpEq: (data: Buffer): Buffer => expr('cmp', nla(1 /* SREG */, be32(NFT_REG_1)), nla(2 /* OP */, be32(NFT_CMP_EQ)), dataValue(3, data)),
  /** reg 1 = (reg 1 & mask) ^ xor over 4 bytes (host order, as the mark register holds it). */
  bitwise: (mask: number, xor: number): Buffer =>
    expr('bitwise', nla(1 /* SREG */, be32(NFT_REG_1)), nla(2 /* DREG */, be32(NFT_REG_1)), nla(3 /* LEN */, be32(4)), dataValue(4, host32(mask)), dataValue(5, host32(xor))),
  /** Network header bytes [offset, offset+len) → reg 1. */
  payloadNetwork: (offset: number, len: number): Buffer =>
    expr('payload', nla(1 /* DREG */, be32(NFT_REG_1)), nla(2 /* BASE */, be32(NFT_PAYLOAD_NETWORK_HEADER)), nla(3 /* OFFSET */, be32(offset)), nla(4 /* LEN */, be32(len))),
  /** reg 1 in the set (referred to by its batch id: anonymous sets have no name yet). */
  lookup: (setName: string, setId: number): Buffer => expr('lookup', nla(1 /* SET */, str(setName)), nla(2 /* SREG */, be32(NFT_REG_1)), nla(4 /* SET_ID */, be32(setId))),
  /** Verdict accept. */
  accept: (): Buffer => expr('immediate', nla(1 /* DREG */, be32(NFT_REG_VERDICT)), nest(2 /* DATA */, nest(2 /* NFTA_DATA_VERDICT */, nla(1 /* CODE */, be32(NF_ACCEPT))))),
  /** meta mark & mask == value. */
  markMatch: (mask: number, value: number): Buffer[] => [Expr.metaLoad(NFT_META_MARK), Expr.bitwise(mask, 0), Expr.cmpEq(host32(value))],
  /** meta mark = (meta mark & mask) ^ xor. */
  markSet: (mask: number, xor: number): Buffer[] => [Expr.metaLoad(NFT_META_MARK), Expr.bitwise(mask, xor), Expr.metaSet(NFT_META_MARK)],
  /** Exthdr: the 2-byte value of the TCP MSS option → reg 1, or reg 1 → it (write). */
  tcpMss: (write: boolean): Buffer =>
    expr(
      'exthdr',
      nla(write ? 7 /* SREG */ : 1 /* DREG */, be32(NFT_REG_1)),
      nla(2 /* TYPE */, Buffer.from([TCPOPT_MAXSEG])),
      nla(3 /* OFFSET */, be32(2)),
      nla(4 /* LEN */, be32(2)),
      nla(6 /* OP */, be32(NFT_EXTHDR_OP_TCPOPT)),
    ),
  /**
   * Upstream's MSS clamp: a TCP SYN whose MSS option exceeds `mss` gets `mss` written into it, so
   * connections through the tunnel never send segments the link would have to fragment.
   */
  clampMss: (mss: number): Buffer[] => {
    const be16 = Buffer.alloc(2);
    be16.writeUInt16BE(mss);
    return [
      Expr.metaLoad(NFT_META_L4PROTO),
      Expr.cmpEq(Buffer.from([IPPROTO_TCP])),
      expr('payload', nla(1, be32(NFT_REG_1)), nla(2, be32(NFT_PAYLOAD_TRANSPORT_HEADER)), nla(3, be32(13)), nla(4, be32(1))),
      expr('bitwise', nla(1, be32(NFT_REG_1)), nla(2, be32(NFT_REG_1)), nla(3, be32(1)), dataValue(4, Buffer.from([0x06])), dataValue(5, Buffer.from([0x00]))),
      Expr.cmpEq(Buffer.from([0x02])),
      Expr.tcpMss(false),
      expr('cmp', nla(1, be32(NFT_REG_1)), nla(2, be32(NFT_CMP_GT)), dataValue(3, be16)),
      expr('immediate', nla(1, be32(NFT_REG_1)), nest(2, nla(1, be16))),
      Expr.tcpMss(true),
    ];
  },
  /** meta nfproto == family. */
  nfproto: (family: number): Buffer[] => [Expr.metaLoad(NFT_META_NFPROTO), Expr.cmpEq(Buffer.from([family]))],
  /** meta oifname == name (padded to IFNAMSIZ as the kernel compares it). */
  oifname: (name: string): Buffer[] => {
    const padded = Buffer.alloc(IFNAMSIZ);
    padded.write(name, 'utf8');
    return [Expr.metaLoad(NFT_META_OIFNAME), Expr.cmpEq(padded)];
  },
} as const;

/** A chain with a hook, as `nft add chain inet <table> <name> { type … hook … priority …; policy accept; }`. */
export interface NftChain {
  readonly name: string;
  readonly type: 'filter' | 'route';
  readonly hook: number;
  readonly priority: number;
}

/** An interval set of addresses of one family; ranges inclusive, as integers. */
export interface NftAddressSet {
  readonly family: 4 | 6;
  readonly ranges: readonly { readonly first: bigint; readonly last: bigint }[];
}

/** A rule: its expressions, with `{set}` marking where the lookup of its anonymous address set goes. */
export interface NftRule {
  readonly chain: string;
  readonly exprs: readonly (Buffer | { readonly set: NftAddressSet })[];
}

function addressBytes(family: 4 | 6, n: bigint): Buffer {
  const out = Buffer.alloc(family === 4 ? 4 : 16);
  for (let i = out.length - 1; i >= 0; i--) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

/** Set elements of an interval set: each range is its start, then the address after its end flagged INTERVAL_END. */
export function intervalElements(set: NftAddressSet): Buffer[] {
  const max = (1n << BigInt(set.family === 4 ? 32 : 128)) - 1n;
  const out: Buffer[] = [];
  for (const r of set.ranges) {
    out.push(nest(1 /* NFTA_LIST_ELEM */, nest(1 /* KEY */, nla(1, addressBytes(set.family, r.first)))));
    if (r.last < max) {
      out.push(nest(1, nest(1, nla(1, addressBytes(set.family, r.last + 1n))), nla(3 /* FLAGS */, be32(NFT_SET_ELEM_INTERVAL_END))));
    }
  }
  return out;
}

/** Bytes of set elements per NEWSETELEM message, under the 64 KiB an attribute length can say. */
const MAX_ELEMENTS_BYTES = 60_000;

function chunkByBytes(items: readonly Buffer[], maxBytes: number): Buffer[][] {
  const out: Buffer[][] = [];
  let cur: Buffer[] = [];
  let size = 0;
  for (const b of items) {
    if (cur.length > 0 && size + b.length > maxBytes) {
      out.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(b);
    size += b.length;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/** What a batch does to our chains of the table. */
export interface NftBatchPlan {
  readonly table: string;
  readonly chains: readonly NftChain[];
  /** Replace the chains' rules with these (created in order). Omitted: delete the chains. */
  readonly rules?: readonly NftRule[];
}

/**
 * One atomic nf_tables transaction for `plan`: create the table and chains if missing, flush the
 * chains, then either add the rules (each address set as an anonymous constant interval set, as
 * nft and upstream do) or delete the chains. Creating before flushing makes both directions work
 * whether or not anything exists yet. The last message asks for an ack so the caller knows when
 * the kernel is done.
 */
export function nftBatch(plan: NftBatchPlan, nextSeq: () => number): { datagram: Buffer; lastSeq: number } {
  const msgs: Buffer[] = [];
  const subsys = (t: number): number => (NFNL_SUBSYS_NFTABLES << 8) | t;
  const inet = NfProto.INET;
  const pending: { type: number; flags: number; attrs: Buffer[] }[] = [];
  pending.push({ type: NftMsg.NEWTABLE, flags: NLM_F_CREATE, attrs: [nla(1 /* NAME */, str(plan.table))] });
  for (const c of plan.chains) {
    pending.push({
      type: NftMsg.NEWCHAIN,
      flags: NLM_F_CREATE,
      attrs: [
        nla(1 /* TABLE */, str(plan.table)),
        nla(3 /* NAME */, str(c.name)),
        nest(4 /* HOOK */, nla(1 /* HOOKNUM */, be32(c.hook)), nla(2 /* PRIORITY */, be32(c.priority))),
        nla(5 /* POLICY */, be32(NF_ACCEPT)),
        nla(7 /* TYPE */, str(c.type)),
      ],
    });
    pending.push({ type: NftMsg.DELRULE, flags: 0, attrs: [nla(1 /* TABLE */, str(plan.table)), nla(2 /* CHAIN */, str(c.name))] });
  }
  if (plan.rules === undefined) {
    for (const c of plan.chains) pending.push({ type: NftMsg.DELCHAIN, flags: 0, attrs: [nla(1, str(plan.table)), nla(3, str(c.name))] });
  } else {
    let setId = 0;
    for (const rule of plan.rules) {
      const exprs: Buffer[] = [];
      for (const e of rule.exprs) {
        if (Buffer.isBuffer(e)) {
          exprs.push(e);
          continue;
        }
        const id = setId++;
        const v4 = e.set.family === 4;
        pending.push({
          type: NftMsg.NEWSET,
          flags: NLM_F_CREATE,
          attrs: [
            nla(1 /* TABLE */, str(plan.table)),
            nla(2 /* NAME */, str('__set%d')),
            nla(3 /* FLAGS */, be32(NFT_SET_ANONYMOUS | NFT_SET_CONSTANT | NFT_SET_INTERVAL)),
            nla(4 /* KEY_TYPE */, be32(v4 ? TYPE_IPADDR : TYPE_IP6ADDR)),
            nla(5 /* KEY_LEN */, be32(v4 ? 4 : 16)),
            nla(10 /* ID */, be32(id)),
          ],
        });
        // An attribute's length is 16 bits: elements go in as many messages as they need.
        for (const chunk of chunkByBytes(intervalElements(e.set), MAX_ELEMENTS_BYTES)) {
          pending.push({
            type: NftMsg.NEWSETELEM,
            flags: NLM_F_CREATE,
            attrs: [nla(1 /* TABLE */, str(plan.table)), nla(2 /* SET */, str('__set%d')), nla(4 /* SET_ID */, be32(id)), nest(3 /* ELEMENTS */, ...chunk)],
          });
        }
        exprs.push(Expr.lookup('__set%d', id));
      }
      pending.push({
        type: NftMsg.NEWRULE,
        flags: NLM_F_CREATE | NLM_F_APPEND,
        attrs: [nla(1 /* TABLE */, str(plan.table)), nla(2 /* CHAIN */, str(rule.chain)), nest(4 /* EXPRESSIONS */, ...exprs)],
      });
    }
  }
  msgs.push(nfMessage({ type: NFNL_MSG_BATCH_BEGIN, flags: NLM_F_REQUEST, seq: nextSeq(), family: 0, resId: NFNL_SUBSYS_NFTABLES }));
  let lastSeq = 0;
  pending.forEach((m, i) => {
    const seq = nextSeq();
    if (i === pending.length - 1) lastSeq = seq;
    const ack = i === pending.length - 1 ? NLM_F_ACK : 0;
    msgs.push(nfMessage({ type: subsys(m.type), flags: NLM_F_REQUEST | ack | m.flags, seq, family: inet }, ...m.attrs));
  });
  msgs.push(nfMessage({ type: NFNL_MSG_BATCH_END, flags: NLM_F_REQUEST, seq: nextSeq(), family: 0, resId: NFNL_SUBSYS_NFTABLES }));
  return { datagram: Buffer.concat(msgs), lastSeq };
}

/** A DELTABLE of its own (the table may hold others' chains: EBUSY then means "keep it"). */
export function nftDeleteTable(table: string, nextSeq: () => number): { datagram: Buffer; lastSeq: number } {
  const begin = nfMessage({ type: NFNL_MSG_BATCH_BEGIN, flags: NLM_F_REQUEST, seq: nextSeq(), family: 0, resId: NFNL_SUBSYS_NFTABLES });
  const lastSeq = nextSeq();
  const del = nfMessage({ type: (NFNL_SUBSYS_NFTABLES << 8) | NftMsg.DELTABLE, flags: NLM_F_REQUEST | NLM_F_ACK, seq: lastSeq, family: NfProto.INET }, nla(1, str(table)));
  const end = nfMessage({ type: NFNL_MSG_BATCH_END, flags: NLM_F_REQUEST, seq: nextSeq(), family: 0, resId: NFNL_SUBSYS_NFTABLES });
  return { datagram: Buffer.concat([begin, del, end]), lastSeq };
}

/** The error for a failed nf_tables transaction. */
export function nftError(errors: readonly { seq: number; errno: number }[]): TalosError {
  return new TalosError(Code.Internal, `nftables transaction failed: ${errors.map((e) => `message ${e.seq}: errno ${e.errno}`).join(', ')}`);
}
