import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Expr, intervalElements, nfMessage, nftBatch } from './nftables.ts';

test('Expr.accept: immediate expression with verdict NF_ACCEPT into the verdict register, byte for byte', () => {
  // NFTA_LIST_ELEM{ NAME "immediate", DATA{ DREG=0, DATA{ VERDICT{ CODE=1 } } } }, nests flagged 0x8000.
  assert.equal(
    Expr.accept().toString('hex'),
    '30000180' + // LIST_ELEM, 48 bytes
      '0e000100' + '696d6d65646961746500' + '0000' + // NAME "immediate\0", padded
      '1c000280' + // EXPR_DATA
      '08000100' + '00000000' + // DREG 0 (verdict), big-endian
      '10000280' + // IMMEDIATE_DATA
      '0c000280' + // DATA_VERDICT
      '08000100' + '00000001', // CODE NF_ACCEPT
  );
});

test('intervalElements: each range is a start key and an end key one past it flagged INTERVAL_END; the top range has no end', () => {
  const els = intervalElements({ family: 4, ranges: [{ first: 0x0a050003n, last: 0x0a050003n }, { first: 0xffffff00n, last: 0xffffffffn }] });
  assert.deepEqual(
    els.map((b) => b.toString('hex')),
    [
      '10000180' + '0c000180' + '080001000a050003',
      '18000180' + '0c000180' + '080001000a050004' + '0800030000000001',
      '10000180' + '0c000180' + '08000100ffffff00',
    ],
  );
});

test('nftBatch: begin and end frame the transaction for the nftables subsystem; only the last message asks for an ack', () => {
  let seq = 100;
  const { datagram, lastSeq } = nftBatch({ table: 'talos', chains: [{ name: 'c', type: 'filter', hook: 0, priority: 0 }], rules: [] }, () => ++seq);
  const msgs: { type: number; flags: number; seq: number }[] = [];
  for (let off = 0; off < datagram.length; off += datagram.readUInt32LE(off)) {
    msgs.push({ type: datagram.readUInt16LE(off + 4), flags: datagram.readUInt16LE(off + 6), seq: datagram.readUInt32LE(off + 8) });
  }
  assert.deepEqual(
    msgs.map((m) => m.type),
    [0x10, 0x0a00, 0x0a03, 0x0a08, 0x11],
  );
  assert.deepEqual(
    msgs.map((m) => (m.flags & 0x4) !== 0),
    [false, false, false, true, false],
  );
  assert.equal(lastSeq, msgs[3]?.seq);
  assert.equal(nfMessage({ type: 0x10, flags: 1, seq: 7, family: 0, resId: 10 }).toString('hex'), '14000000100001000700000000000000' + '0000000a');
});
