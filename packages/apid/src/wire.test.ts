import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { machinePb } from '@talos-ts/machinery';
import {
  decodeVarint,
  encodeLenField,
  encodeVarint,
  errorMessage,
  joinRepeated,
  readFields,
  repeatedMessages,
  withHostname,
} from './wire.ts';

test('wire: varints round-trip across byte boundaries', () => {
  for (const n of [0, 1, 127, 128, 300, 16_383, 16_384, 2 ** 31, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER]) {
    const enc = encodeVarint(n);
    assert.deepEqual(decodeVarint(enc, 0), { value: n, next: enc.length }, `n=${n}`);
  }
  assert.deepEqual([...encodeVarint(300)], [0xac, 0x02]);
});

test('wire: truncated varints and fields are rejected', () => {
  assert.throws(() => decodeVarint(Buffer.from([0x80, 0x80]), 0), RangeError);
  assert.throws(() => readFields(Buffer.from([0x0a, 0x05, 0x01])), /past the end/);
  assert.throws(() => readFields(Buffer.from([0x0b])), /wire type 3/);
  assert.throws(() => encodeVarint(-1), RangeError);
});

test('wire: readFields walks every wire type', () => {
  const msg = Buffer.concat([
    Buffer.from([0x08, 0x96, 0x01]), // field 1 varint 150
    Buffer.from([0x11, 1, 2, 3, 4, 5, 6, 7, 8]), // field 2 fixed64
    encodeLenField(3, 'abc'),
    Buffer.from([0x25, 9, 9, 9, 9]), // field 4 fixed32
  ]);
  const fields = readFields(msg);
  assert.deepEqual(
    fields.map((f) => [f.field, f.wireType, f.value.length]),
    [
      [1, 0, 2],
      [2, 1, 8],
      [3, 2, 3],
      [4, 5, 4],
    ],
  );
  assert.equal(fields[2]?.value.toString(), 'abc');
});

test('wire: appending metadata sets hostname without touching the other fields', () => {
  const { VersionResponseSchema } = machinePb;
  const reply = create(VersionResponseSchema, {
    messages: [
      { metadata: { hostname: 'old', error: '' }, version: { tag: 'v1', arch: 'amd64' } },
      { version: { tag: 'v2' } },
    ],
  });
  const items = repeatedMessages(Buffer.from(toBinary(VersionResponseSchema, reply)));
  assert.equal(items.length, 2);
  const merged = joinRepeated([withHostname(items[0] as Buffer, 'node-a'), withHostname(items[1] as Buffer, 'node-b'), errorMessage('node-c', 'boom')]);
  const back = fromBinary(VersionResponseSchema, merged);
  assert.deepEqual(
    back.messages.map((m) => [m.metadata?.hostname, m.metadata?.error, m.version?.tag, m.version?.arch]),
    [
      ['node-a', '', 'v1', 'amd64'],
      ['node-b', '', 'v2', ''],
      ['node-c', 'boom', undefined, undefined],
    ],
  );
});
