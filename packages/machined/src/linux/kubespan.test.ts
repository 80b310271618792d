import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { KubeSpanKernel, KubeSpanKernelState, kubeSpanRuleMessage } from './kubespan.ts';
import { NetlinkProtocol, NetlinkSocket } from './netlink-socket.ts';
import { NfHook, nftBatch } from './nftables.ts';

// Real kernel, in a network namespace of our own (prefix tks-): nftables and policy routing are
// applied over netlink by our code and read back with nft and ip.
const ns = `tks-${process.pid}`;
const nsPath = `/var/run/netns/${ns}`;

const run = (cmd: string, ...args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8' });
const inNs = (...args: string[]): string => run('ip', 'netns', 'exec', ns, ...args);
const range = (family: 4 | 6, first: bigint, last = first) => ({ family, first, last });
const v4 = (a: number, b: number, c: number, d: number): bigint => BigInt(((a << 24) >>> 0) + (b << 16) + (c << 8) + d);

interface NftObject {
  table?: { family: string; name: string };
  chain?: { family: string; table: string; name: string; type: string; hook: string; prio: number; policy: string };
  rule?: { chain: string; expr: Record<string, unknown>[] };
}

function ruleset(): NftObject[] {
  return (JSON.parse(inNs('nft', '-j', 'list', 'ruleset')) as { nftables: NftObject[] }).nftables.filter((o) => !('metainfo' in o));
}

function ourRules(family: '-4' | '-6'): { priority: number; table: string; fwmark?: string; fwmask?: string }[] {
  return (JSON.parse(run('ip', '-n', ns, '-j', family, 'rule', 'show')) as { priority: number; table: string; fwmark?: string; fwmask?: string }[]).filter(
    (r) => r.priority === KubeSpanKernel.rulePriority,
  );
}

function tableRoutes(family: '-4' | '-6'): { dst: string; dev: string; metrics?: { mtu: number }[] }[] {
  return JSON.parse(run('ip', '-n', ns, '-j', family, 'route', 'show', 'table', String(KubeSpanKernel.routingTable))) as never;
}

test('kubeSpanRuleMessage: fib_rule_hdr for table 180 and FRA_PRIORITY/FWMARK/FWMASK/TABLE, byte for byte', () => {
  assert.equal(
    kubeSpanRuleMessage(4).toString('hex'),
    '02000000b4000001' + '00000000' + '08000600f47e0000' + '08000a0040000000' + '0800100060000000' + '08000f00b4000000',
  );
});

test('KubeSpanKernelState: chains, sets, rules and routes applied in a netns read back as upstream lays them out; teardown leaves nothing', () => {
  run('ip', 'netns', 'add', ns);
  try {
    // No WireGuard (nor dummy) module on the test host: a veth end stands in for the link.
    inNs('ip', 'link', 'add', KubeSpanKernel.linkName, 'type', 'veth', 'peer', 'name', 'ks-peer');
    inNs('ip', 'link', 'set', KubeSpanKernel.linkName, 'up');
    const index = (JSON.parse(run('ip', '-n', ns, '-j', 'link', 'show', KubeSpanKernel.linkName)) as { ifindex: number }[])[0]!.ifindex;
    using k = new KubeSpanKernelState({ netnsPath: nsPath });
    k.applyFirewall([range(4, v4(10, 5, 0, 3)), range(4, v4(10, 244, 1, 0), v4(10, 244, 1, 255)), range(6, 0xfd00n << 112n | 3n)]);
    k.applyRules();
    k.applyRules(); // idempotent
    k.applyRoutes(index);

    const objs = ruleset();
    assert.deepEqual(
      objs.filter((o) => o.table).map((o) => [o.table!.family, o.table!.name]),
      [['inet', 'talos']],
    );
    const chains = objs.filter((o) => o.chain).map((o) => ({ name: o.chain!.name, type: o.chain!.type, hook: o.chain!.hook, prio: o.chain!.prio, policy: o.chain!.policy }));
    assert.deepEqual(chains, [
      { name: 'kubespan_prerouting', type: 'filter', hook: 'prerouting', prio: 0, policy: 'accept' },
      { name: 'kubespan_outgoing', type: 'route', hook: 'output', prio: 0, policy: 'accept' },
    ]);
    const text = inNs('nft', 'list', 'ruleset');
    // The bypass for WireGuard's own packets, then the force mark for peer destinations.
    assert.match(text, /chain kubespan_prerouting \{[^}]*meta mark & 0x00000060 == 0x00000020 accept/);
    // (mark & ~0x60) ^ 0x40, which nft prints folded as & 0xffffffdf | 0x40.
    assert.match(text, /ip daddr \{ 10\.5\.0\.3, 10\.244\.1\.0\/24 \} meta mark set meta mark & 0xffffffdf \| 0x00000040 accept/);
    assert.match(text, /ip6 daddr \{ fd00::3 \} meta mark set meta mark & 0xffffffdf \| 0x00000040 accept/);
    assert.match(text, /chain kubespan_outgoing \{[^}]*oifname "lo" accept/);
    assert.equal(objs.filter((o) => o.rule).length, 9, 'prerouting: bypass, v4, v6; outgoing: bypass, lo, clamp v4, clamp v6, v4, v6');
    // MSS clamp for the default 1420 MTU: 1420 - 20 - 20 - 12 over IPv4, 1420 - 40 - 20 - 12 over IPv6.
    assert.match(text, /ip daddr \{ 10\.5\.0\.3, 10\.244\.1\.0\/24 \} tcp flags syn \/ syn,rst tcp option maxseg size > 1368 tcp option maxseg size set 1368\n/);
    assert.match(text, /ip6 daddr \{ fd00::3 \} tcp flags syn \/ syn,rst tcp option maxseg size > 1348 tcp option maxseg size set 1348\n/);

    for (const family of ['-4', '-6'] as const) {
      assert.deepEqual(ourRules(family).map((r) => ({ table: r.table, fwmark: r.fwmark, fwmask: r.fwmask })), [{ table: '180', fwmark: '0x40', fwmask: '0x60' }]);
      const routes = tableRoutes(family);
      assert.equal(routes.length, 1, family);
      assert.equal(routes[0]?.dst, 'default');
      assert.equal(routes[0]?.dev, 'kubespan');
    }

    // Update: 1,000 peers replace the three; the set holds them all, the other rules stay.
    const many = Array.from({ length: 1000 }, (_, i) => range(4, v4(10, 100 + (i >> 8), i & 0xff, 1)));
    k.applyFirewall(many);
    const updated = inNs('nft', 'list', 'ruleset');
    assert.doesNotMatch(updated, /10\.244\.1\.0/);
    assert.match(updated, /10\.103\.231\.1/);
    assert.equal((updated.match(/10\.10[0-3]\.\d+\.1\b/g) ?? []).length, 3000, 'every address in the three rules that match peers');

    k.teardown(index);
    assert.deepEqual(ruleset(), []);
    for (const family of ['-4', '-6'] as const) {
      assert.deepEqual(ourRules(family), []);
      assert.deepEqual(tableRoutes(family), []);
    }
    k.teardown(index); // nothing there: still fine
  } finally {
    run('ip', 'netns', 'del', ns);
  }
});

test('nftBatch: a transaction the kernel refuses reports the failing message and changes nothing', () => {
  const bad = `tks-bad-${process.pid}`;
  run('ip', 'netns', 'add', bad);
  try {
    using sock = new NetlinkSocket(NetlinkProtocol.NETFILTER, { netnsPath: `/var/run/netns/${bad}` });
    // A chain type the kernel does not know: NEWCHAIN fails, so the whole batch is aborted.
    const { datagram, lastSeq } = nftBatch({ table: 'talos', chains: [{ name: 'c', type: 'bogus' as 'filter', hook: NfHook.OUTPUT, priority: 0 }], rules: [] }, () => sock.nextSeq());
    const errors = sock.exchange(datagram, lastSeq);
    // Messages: begin, NEWTABLE, NEWCHAIN, DELRULE (last, acked), end: the chain is the culprit.
    assert.ok(errors.some((e) => e.seq === lastSeq - 1 && e.errno > 0), JSON.stringify(errors));
    assert.equal(run('ip', 'netns', 'exec', bad, 'nft', 'list', 'ruleset'), '', 'the table made earlier in the batch was rolled back');
  } finally {
    run('ip', 'netns', 'del', bad);
  }
});
