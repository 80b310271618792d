import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, hasCode } from '@talos-ts/cosi';
import { DerError, MAX_OID_ARC_BYTES, decodeDer, derTlv, readInteger, readOid, Tag } from './der.ts';
import { generateKey } from './keys.ts';
import { decodePem } from './pem.ts';
import { createCsr, createSelfSignedCa, parseCertificate, parseCsr } from './x509.ts';

/** A small seeded generator (mulberry32), so a failing input can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Truncations at every length, then byte flips, insertions and deletions, then pure noise. */
function* hostileVariants(valid: Buffer, seed: number, mutations: number): Generator<Buffer> {
  for (let n = 0; n < valid.length; n++) yield valid.subarray(0, n);
  const rnd = random(seed);
  const int = (n: number): number => Math.floor(rnd() * n);
  for (let i = 0; i < mutations; i++) {
    const b = Buffer.from(valid);
    const edits = 1 + int(4);
    let out = b;
    for (let e = 0; e < edits; e++) {
      const at = int(out.length);
      const kind = int(4);
      if (kind === 0) out[at] = int(256);
      else if (kind === 1) out[at] = (out[at] ?? 0) ^ (1 << int(8));
      else if (kind === 2) out = Buffer.concat([out.subarray(0, at), Buffer.from([int(256)]), out.subarray(at)]);
      else out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1)]);
    }
    yield out;
  }
  for (let i = 0; i < 300; i++) yield Buffer.from(Array.from({ length: int(200) }, () => int(256)));
}

function onlyTypedErrors(parse: (der: Buffer) => unknown, inputs: Iterable<Buffer>): { tried: number; refused: number } {
  let tried = 0;
  let refused = 0;
  for (const input of inputs) {
    tried++;
    try {
      parse(input);
    } catch (err) {
      refused++;
      assert.ok(err instanceof DerError && hasCode(err, Code.InvalidArgument), `input ${input.toString('hex')} threw ${String(err)}`);
    }
  }
  return { tried, refused };
}

test('parseCsr: truncated, mutated and random DER only ever throws a DerError (InvalidArgument)', async () => {
  const key = await generateKey('ecdsa');
  const csr = decodePem(createCsr(key, { subject: { commonName: 'w', organizations: ['o'] }, dnsNames: ['w.example'], ipAddresses: ['10.0.0.1', 'fd00::1'] })).der;
  const { tried, refused } = onlyTypedErrors((der) => parseCsr(der), hostileVariants(csr, 11, 3000));
  assert.ok(refused > tried / 2, `${refused} of ${tried} refused`);
});

test('parseCertificate: truncated, mutated and random DER only ever throws a DerError (InvalidArgument)', async () => {
  const now = Date.now();
  const ca = createSelfSignedCa({ key: await generateKey('ecdsa'), subject: { organizations: ['talos'] }, notBefore: new Date(now), notAfter: new Date(now + 3_600_000) });
  const crt = decodePem(ca.crtPem).der;
  onlyTypedErrors((der) => parseCertificate(der), hostileVariants(crt, 12, 2000));
});

test('decodeDer: nesting deeper than the bound is a DerError, not a stack overflow', () => {
  let der: Buffer = Buffer.from([0x05, 0x00]);
  for (let i = 0; i < 200; i++) der = derTlv(Tag.Sequence, der);
  assert.throws(() => decodeDer(der), (e) => e instanceof DerError && /nesting too deep/.test(e.message));
});

test('decodeDer: lengths past the end, indefinite and over-long length forms are DerErrors', () => {
  for (const hex of ['3084ffffffff', '3080', '308500000000010000', '04820100', '30']) {
    assert.throws(() => decodeDer(Buffer.from(hex, 'hex')), (e) => e instanceof DerError, hex);
  }
});

test('readOid: an arc longer than the bound, a leading zero digit or a cut arc is refused', () => {
  const oid = (content: number[]): Buffer => derTlv(Tag.Oid, Buffer.from(content));
  const long = [0x2a, ...Array<number>(MAX_OID_ARC_BYTES).fill(0x81), 0x01];
  assert.throws(() => readOid(decodeDer(oid(long))), (e) => e instanceof DerError && /longer than/.test(e.message));
  // A megabyte-long arc is refused at the bound instead of being shifted into one huge bigint.
  const huge = [0x2a, ...Array<number>(1 << 20).fill(0xff), 0x7f];
  assert.throws(() => readOid(decodeDer(oid(huge))), DerError);
  assert.throws(() => readOid(decodeDer(oid([0x2a, 0x80, 0x01]))), /leading zero/);
  assert.throws(() => readOid(decodeDer(oid([0x2a, 0x86]))), /ends inside an arc/);
  // A 128-bit arc (UUID OIDs under 2.25) still reads.
  const uuidArc = 2n ** 128n - 1n;
  const digits: number[] = [];
  for (let v = uuidArc; v > 0n; v >>= 7n) digits.unshift(Number(v & 0x7fn) | (digits.length ? 0x80 : 0));
  assert.equal(readOid(decodeDer(oid([0x69, ...digits]))), `2.25.${uuidArc}`);
});

test('readInteger: an empty INTEGER is refused; a long one reads whole', () => {
  assert.throws(() => readInteger(decodeDer(Buffer.from([0x02, 0x00]))), DerError);
  const bytes = Buffer.alloc(512, 0xab);
  assert.equal(readInteger(decodeDer(derTlv(Tag.Integer, bytes))), BigInt(`0x${bytes.toString('hex')}`));
});
