import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LineSplitter, ServiceLog } from './log.ts';

test('ServiceLog: tail N returns the last N lines in order', async () => {
  await using log = new ServiceLog('svc');
  for (let i = 1; i <= 5; i++) log.append(`line ${i}`);
  assert.deepEqual(log.tail(2), ['line 4', 'line 5']);
  assert.deepEqual(log.tail(10), ['line 1', 'line 2', 'line 3', 'line 4', 'line 5']);
  assert.deepEqual(log.tail(0), []);
});

test('ServiceLog: the byte bound drops the oldest lines', async () => {
  await using log = new ServiceLog('svc', { sizeBytes: 100 });
  for (let i = 0; i < 50; i++) log.append(`line-${String(i).padStart(3, '0')}`); // 9 bytes each with newline
  assert.ok(log.bytes <= 100, `held ${log.bytes} bytes`);
  const held = log.tail();
  assert.equal(held.length, 11);
  assert.equal(held.at(-1), 'line-049');
  assert.equal(held[0], 'line-039');
});

test('ServiceLog: a single line larger than the bound is truncated, not kept whole', async () => {
  await using log = new ServiceLog('svc', { sizeBytes: 16 });
  log.append('x'.repeat(100));
  assert.ok(log.bytes <= 16);
  assert.equal(log.tail(1)[0], 'x'.repeat(15));
});

test('ServiceLog: follow yields the requested tail, then new lines, and ends on abort', async () => {
  await using log = new ServiceLog('svc');
  log.append('old 1');
  log.append('old 2');
  const ac = new AbortController();
  const seen: string[] = [];
  const reader = (async () => {
    for await (const line of log.follow(ac.signal, { tailLines: 1 })) {
      seen.push(line);
      if (seen.length === 3) ac.abort();
    }
  })();
  await new Promise((r) => setTimeout(r, 10));
  log.append('new 1');
  log.append('new 2');
  await reader;
  assert.deepEqual(seen, ['old 2', 'new 1', 'new 2']);
});

test('ServiceLog: follow with nothing new ends when the signal aborts', async () => {
  await using log = new ServiceLog('svc');
  const ac = new AbortController();
  const reader = (async () => {
    const got: string[] = [];
    for await (const line of log.follow(ac.signal)) got.push(line);
    return got;
  })();
  setTimeout(() => ac.abort(), 20);
  assert.deepEqual(await reader, []);
});

test('ServiceLog: lines are mirrored to <logDir>/<id>.log', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'svclog-'));
  try {
    {
      await using log = new ServiceLog('apid', { logDir: dir });
      log.append('hello');
      log.append('world');
    }
    assert.equal(await readFile(join(dir, 'apid.log'), 'utf8'), 'hello\nworld\n');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('LineSplitter: joins partial chunks and strips CR', () => {
  const lines: string[] = [];
  const s = new LineSplitter((l) => lines.push(l));
  s.write('ab');
  s.write('c\r\nde');
  s.write(new TextEncoder().encode('f\ng'));
  s.end();
  assert.deepEqual(lines, ['abc', 'def', 'g']);
});
