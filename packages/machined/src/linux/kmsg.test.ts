import test from 'node:test';
import assert from 'node:assert/strict';
import { accessSync, constants } from 'node:fs';
import { formatKernelRecord, parseKmsgRecord, readKernelLog } from './kmsg.ts';

test('parseKmsgRecord: priority splits into facility and level; escapes decode; device lines are dropped', () => {
  const r = parseKmsgRecord('6,339,5140900,-;NET: Registered protocol family 10\\x21\n SUBSYSTEM=net\n');
  assert.deepEqual(r, { facility: 0, level: 6, seq: 339, timestampUs: 5140900, message: 'NET: Registered protocol family 10!' });
  assert.equal(formatKernelRecord(r as NonNullable<typeof r>), 'kern: info   : [    5.140900]: NET: Registered protocol family 10!');
  assert.equal(parseKmsgRecord('garbage'), undefined);
});

let readable = true;
try {
  accessSync('/dev/kmsg', constants.R_OK);
} catch {
  readable = false;
}

test('readKernelLog: reads the buffered records in sequence and stops without follow', { skip: !readable && '/dev/kmsg not readable' }, async () => {
  const seqs: number[] = [];
  for await (const r of readKernelLog({ follow: false, signal: AbortSignal.timeout(10_000) })) seqs.push(r.seq);
  assert.ok(seqs.length > 0);
  assert.deepEqual([...seqs].sort((a, b) => a - b), seqs);
});
