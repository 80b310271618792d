import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
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

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'svclog-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const numbered = (i: number): string => `line ${String(i).padStart(6, '0')} ${'x'.repeat(40)}`;

test('ServiceLog: far more output than the cap leaves two files within the cap, the newest lines last', async () => {
  await withDir(async (dir) => {
    const cap = 4096;
    const total = 5000; // ~270 KB written, 66 times the cap
    {
      await using log = new ServiceLog('chatty', { logDir: dir, sizeBytes: cap });
      for (let i = 0; i < total; i++) {
        log.append(numbered(i));
        // Let the writer run now and then, as a service's output arrives over many turns.
        if (i % 97 === 0) await new Promise((r) => setImmediate(r));
      }
    }
    const current = await readFile(join(dir, 'chatty.log'), 'utf8');
    const previous = await readFile(join(dir, 'chatty.log.1'), 'utf8');
    assert.ok((await stat(join(dir, 'chatty.log'))).size <= cap, `chatty.log holds ${current.length} bytes`);
    assert.ok((await stat(join(dir, 'chatty.log.1'))).size <= cap, `chatty.log.1 holds ${previous.length} bytes`);
    const lines = (previous + current).split('\n').slice(0, -1);
    assert.equal(lines.at(-1), numbered(total - 1));
    // The two generations join up: consecutive numbers with no gap or repeat.
    const nums = lines.map((l) => Number(l.split(' ')[1]));
    nums.forEach((n, i) => i > 0 && assert.equal(n, (nums[i - 1] ?? 0) + 1));
  });
});

test('ServiceLog: a new log on the same directory starts with the persisted tail', async () => {
  await withDir(async (dir) => {
    {
      await using log = new ServiceLog('apid', { logDir: dir, sizeBytes: 2048 });
      for (let i = 0; i < 500; i++) log.append(numbered(i));
    }
    await using again = new ServiceLog('apid', { logDir: dir, sizeBytes: 2048 });
    assert.deepEqual(again.tail(3), [numbered(497), numbered(498), numbered(499)]);
    assert.ok(again.bytes <= 2048);
    again.append('after restart');
    assert.deepEqual(again.tail(2), [numbered(499), 'after restart']);
  });
});

test('ServiceLog: an oversized file from an older build is cut to its newest lines at start', async () => {
  await withDir(async (dir) => {
    const old = Array.from({ length: 10_000 }, (_, i) => numbered(i)).join('\n') + '\n';
    await writeFile(join(dir, 'etcd.log'), old);
    {
      await using log = new ServiceLog('etcd', { logDir: dir, sizeBytes: 4096 });
      assert.equal(log.tail(1)[0], numbered(9999));
    }
    const size = (await stat(join(dir, 'etcd.log'))).size;
    assert.ok(size <= 4096, `etcd.log holds ${size} bytes`);
    const text = await readFile(join(dir, 'etcd.log'), 'utf8');
    assert.ok(text.endsWith(numbered(9999) + '\n'));
    assert.ok(text.startsWith('line '), 'the first line is whole');
  });
});

test('ServiceLog: a line cut short by a crash is not glued to the next one', async () => {
  await withDir(async (dir) => {
    await writeFile(join(dir, 'kubelet.log'), 'whole\ncut sho');
    {
      await using log = new ServiceLog('kubelet', { logDir: dir });
      log.append('next');
    }
    assert.equal(await readFile(join(dir, 'kubelet.log'), 'utf8'), 'whole\ncut sho\nnext\n');
  });
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
