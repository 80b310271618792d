import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, hasCode } from '@talos-ts/cosi';
import { MessageReader, decodeGrpcMessage, encodeGrpcMessage, encodeTimeout, frameMessage, metadataFromRawHeaders, parseTimeout, putMetadata } from './wire.ts';

test('grpc-message: percent-encoding round-trips non-ASCII, % and control characters', () => {
  for (const m of ['plain text', '100%', 'naïve ✓ 日本', 'line\nbreak', '%41 literal', '']) {
    const enc = encodeGrpcMessage(m);
    assert.match(enc, /^[\x20-\x7e]*$/);
    assert.equal(decodeGrpcMessage(enc), m);
  }
  assert.equal(encodeGrpcMessage('a%b'), 'a%25b');
  assert.equal(decodeGrpcMessage('bad %zz escape'), 'bad %zz escape');
});

test('grpc-timeout: encodes at most 8 digits and parses every unit', () => {
  assert.equal(encodeTimeout(1500), '1500m');
  assert.equal(encodeTimeout(200_000_000), '200000S');
  assert.equal(parseTimeout('2S'), 2000);
  assert.equal(parseTimeout('3M'), 180_000);
  assert.equal(parseTimeout('1H'), 3_600_000);
  assert.equal(parseTimeout('5000u'), 5);
  assert.equal(parseTimeout('123456789m'), undefined);
  assert.equal(parseTimeout('10x'), undefined);
  for (const ms of [0, 1, 99_999_999, 100_000_000, 5e12]) assert.ok((parseTimeout(encodeTimeout(ms)) as number) >= ms);
});

test('MessageReader: reassembles messages split across chunks and several per chunk', () => {
  const msgs = [Buffer.from('a'), Buffer.alloc(0), Buffer.alloc(70_000, 3), Buffer.from('end')];
  const all = Buffer.concat(msgs.map((m) => frameMessage(m)));
  for (const step of [1, 3, 7, 4096, all.length]) {
    const reader = new MessageReader(1 << 20);
    const got: Buffer[] = [];
    for (let i = 0; i < all.length; i += step) reader.push(all.subarray(i, i + step), (m) => got.push(Buffer.from(m)));
    assert.deepEqual(got, msgs);
    assert.equal(reader.partial, false);
  }
});

test('MessageReader: a compressed flag is UNIMPLEMENTED and an oversize length RESOURCE_EXHAUSTED', () => {
  const compressed = frameMessage(Buffer.from('x'));
  compressed[0] = 1;
  assert.throws(() => new MessageReader(10).push(compressed, () => {}), (e) => hasCode(e, Code.Unimplemented));
  // The length alone decides: the payload need not have arrived.
  assert.throws(() => new MessageReader(10).push(frameMessage(Buffer.alloc(11)).subarray(0, 5), () => {}), (e) => hasCode(e, Code.ResourceExhausted));
});

test('metadata: raw headers keep repeats, decode -bin and drop transport headers; putMetadata re-encodes', () => {
  const md = metadataFromRawHeaders([':path', '/x', 'content-type', 'application/grpc', 'x-a', '1', 'x-a', '2', 'x-b-bin', Buffer.from([0, 255]).toString('base64'), 'grpc-timeout', '1S']);
  assert.deepEqual([...md.keys()], ['x-a', 'x-b-bin']);
  assert.deepEqual(md.get('x-a'), ['1', '2']);
  assert.deepEqual(md.get('x-b-bin'), [Buffer.from([0, 255])]);
  const headers: Record<string, string | string[] | number> = {};
  putMetadata(headers, md);
  assert.deepEqual(headers, { 'x-a': ['1', '2'], 'x-b-bin': 'AP8=' });
});

test('MessageReader: reassembling a message from many small chunks copies each byte about once (linear, not quadratic)', () => {
  // Buffer.concat is how a reader joins chunks; count the bytes it produces while 4096
  // chunks of 64 bytes (one 256 KiB message) go through. Re-joining everything pending on
  // every chunk would copy ~2,000 times the message size.
  const message = Buffer.alloc(256 * 1024, 7);
  const framed = frameMessage(message);
  const concat = Buffer.concat;
  let copied = 0;
  Buffer.concat = ((list: readonly Uint8Array[], totalLength?: number) => {
    const out = concat(list, totalLength);
    copied += out.length;
    return out;
  }) as typeof Buffer.concat;
  const got: Buffer[] = [];
  try {
    const reader = new MessageReader(1 << 20);
    for (let i = 0; i < framed.length; i += 64) reader.push(framed.subarray(i, i + 64), (m) => got.push(m));
  } finally {
    Buffer.concat = concat;
  }
  assert.equal(got.length, 1);
  assert.ok(got[0]?.equals(message));
  assert.ok(copied <= 2 * framed.length, `copied ${copied} bytes for a ${framed.length}-byte frame`);
});

test('MessageReader: a header split byte by byte is read once complete, and the cap applies before any payload', () => {
  const framed = Buffer.concat([frameMessage(Buffer.from('hi')), frameMessage(Buffer.alloc(3, 1))]);
  const reader = new MessageReader(16);
  const got: string[] = [];
  for (const b of framed) reader.push(Buffer.from([b]), (m) => got.push(m.toString('hex')));
  assert.deepEqual(got, ['6869', '010101']);
  assert.equal(reader.partial, false);
  const big = Buffer.alloc(5);
  big.writeUInt32BE(17, 1);
  const capped = new MessageReader(16);
  capped.push(big.subarray(0, 3), () => {});
  assert.equal(capped.partial, true);
  assert.throws(() => capped.push(big.subarray(3), () => {}), (e) => hasCode(e, Code.ResourceExhausted));
});
