import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import test from 'node:test';
import { ADV_BYTES, ADV_COPY_BYTES, ADV_DATA_BYTES, decodeAdv, encodeAdv, MetaValues } from './adv.ts';
import { metaKeyId, parseMetaKey } from './tags.ts';

function values(entries: Record<number, string>): MetaValues {
  const v = new MetaValues();
  for (const [k, s] of Object.entries(entries)) assert.equal(v.set(Number(k), s), true);
  return v;
}

test('META: values round-trip through both copies', () => {
  const bytes = encodeAdv(values({ 0x0a: 'hello', 7: 'registry/installer:v2', 255: '' }));
  assert.equal(bytes.length, ADV_BYTES);
  const d = decodeAdv(bytes);
  assert.equal(d.source, 'first');
  assert.deepEqual(d.values.tags(), [7, 0x0a, 255]);
  assert.equal(d.values.getText(0x0a), 'hello');
  assert.equal(d.values.getText(255), '');
  assert.deepEqual(bytes.subarray(0, ADV_COPY_BYTES), bytes.subarray(ADV_COPY_BYTES));
});

test('META: the layout is upstream\'s (big-endian magics, tag/size records, sha256 with the sum zeroed)', () => {
  const copy = Buffer.from(encodeAdv(values({ 0x0a: 'hi' })).subarray(0, ADV_COPY_BYTES));
  assert.equal(copy.readUInt32BE(0), 0x5a4b3c2d);
  assert.equal(copy.readUInt32BE(ADV_COPY_BYTES - 4), 0xa5b4c3d2);
  assert.deepEqual([copy.readUInt32BE(4), copy.readUInt32BE(8), copy.subarray(12, 14).toString()], [0x0a, 2, 'hi']);
  assert.equal(copy.readUInt32BE(14), 0, 'the record list ends with tag 0');
  const sum = Buffer.from(copy.subarray(ADV_COPY_BYTES - 36, ADV_COPY_BYTES - 4));
  copy.fill(0, ADV_COPY_BYTES - 36, ADV_COPY_BYTES - 4);
  assert.deepEqual(sum, createHash('sha256').update(copy).digest());
});

test('META: a corrupt first copy falls back to the second; both corrupt reads as empty with the reasons', () => {
  const bytes = encodeAdv(values({ 0x0a: 'kept' }));
  bytes[20] = (bytes[20] ?? 0) ^ 0xff;
  const d = decodeAdv(bytes);
  assert.equal(d.source, 'second');
  assert.equal(d.values.getText(0x0a), 'kept');
  assert.match(d.rejected[0] ?? '', /first copy: checksum mismatch/);
  bytes[ADV_COPY_BYTES] = 0;
  const none = decodeAdv(bytes);
  assert.equal(none.source, 'none');
  assert.deepEqual(none.values.tags(), []);
  assert.match(none.rejected[1] ?? '', /second copy: bad magic1/);
});

test('META: a blank partition reads as no values', () => {
  const d = decodeAdv(new Uint8Array(1024 * 1024));
  assert.equal(d.source, 'none');
  assert.deepEqual(d.values.tags(), []);
});

test('META: a write that would overflow one copy is refused and changes nothing', () => {
  const v = new MetaValues();
  assert.equal(v.set(1, new Uint8Array(ADV_DATA_BYTES - 8 - 16)), true);
  assert.equal(v.set(2, new Uint8Array(8)), true, 'exactly full still fits');
  assert.equal(v.set(3, 'x'), false);
  assert.equal(v.set(2, new Uint8Array(9)), false, 'growing a value past the end is refused too');
  assert.deepEqual(v.tags(), [1, 2]);
  assert.equal(v.get(2)?.length, 8);
  const d = decodeAdv(encodeAdv(v));
  assert.equal(d.source, 'first');
  assert.equal(d.values.usedBytes(), ADV_DATA_BYTES);
});

test('META: tag 0 (the end marker) and tags past a byte are refused', () => {
  const v = new MetaValues();
  assert.throws(() => v.set(0, 'x'), /key must be 1\.\.255/);
  assert.throws(() => v.set(256, 'x'), /key must be 1\.\.255/);
});

test('META: keys parse as Go\'s ParseUint with base 0 and print as upstream\'s ids', () => {
  assert.deepEqual(parseMetaKey('0xa'), { value: 10 });
  assert.deepEqual(parseMetaKey('10'), { value: 10 });
  assert.deepEqual(parseMetaKey('012'), { value: 10 });
  assert.deepEqual(parseMetaKey('0b1010'), { value: 10 });
  assert.match((parseMetaKey('0x100') as { error: string }).error, /out of range/);
  assert.match((parseMetaKey('ten') as { error: string }).error, /invalid syntax/);
  assert.equal(metaKeyId(10), '0x0a');
  assert.equal(metaKeyId(255), '0xff');
});
