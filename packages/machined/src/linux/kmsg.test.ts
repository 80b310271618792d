import test from 'node:test';
import assert from 'node:assert/strict';
import { accessSync, constants } from 'node:fs';
import { formatKernelRecord, parseKlogText, parseKmsgRecord, readKernelLog, readKernelLogBuffer } from './kmsg.ts';

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

test('parseKlogText: priority, timestamp and message of syslog READ_ALL lines', () => {
  const rs = parseKlogText('<6>[    5.140900] virtio_blk virtio2: [vda] 210384 512-byte logical blocks\n<12>[   12.000001] user: hi\nnot a record\n');
  assert.equal(rs.length, 2);
  assert.deepEqual(rs[0], { facility: 0, level: 6, seq: 0, timestampUs: 5140900, message: 'virtio_blk virtio2: [vda] 210384 512-byte logical blocks' });
  assert.equal(rs[1]?.facility, 1);
  assert.equal(rs[1]?.level, 4);
});

test('readKernelLogBuffer: as root, the whole buffer comes back in time order', { skip: (process.getuid?.() !== 0 || !readable) && 'needs root' }, async () => {
  const all = readKernelLogBuffer();
  assert.ok(all.length > 0);
  assert.ok(all.every((r, i) => i === 0 || r.timestampUs >= (all[i - 1]?.timestampUs ?? 0)));
});
