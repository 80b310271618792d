import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ServiceState } from '../system/events.ts';
import type { RunContext } from '../system/runner.ts';
import { ProcessRunner } from './process.ts';

// A zombie counts as gone: orphans are reaped by PID 1, which in this sandbox is not us and is slow.
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function recorder(): { ctx: RunContext; events: string[]; lines: string[]; pid: () => number } {
  const events: string[] = [];
  const lines: string[] = [];
  return {
    events,
    lines,
    ctx: {
      started: (m) => events.push(`Running: ${m}`),
      event: (s, m) => events.push(`${s}: ${m}`),
      log: (l) => lines.push(l),
    },
    pid: () => Number(/PID (\d+)/.exec(events[0] ?? '')?.[1]),
  };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('ProcessRunner: captures stdout and stderr lines and reports the exit code', async () => {
  await using runner = new ProcessRunner({ argv: ['/bin/sh', '-c', 'echo out; echo err >&2; printf tail; exit 7'] });
  const r = recorder();
  const outcome = await runner.run(new AbortController().signal, r.ctx);
  assert.deepEqual({ ok: outcome.ok, exitCode: outcome.exitCode, message: outcome.message }, { ok: false, exitCode: 7, message: 'exit code 7' });
  assert.deepEqual([...r.lines].sort(), ['err', 'out', 'tail']);
  assert.match(r.events[0] ?? '', /^Running: Process .*started with PID \d+$/);
  assert.equal(alive(r.pid()), false);
});

test('ProcessRunner: env, cwd and exit 0', async () => {
  await using runner = new ProcessRunner({ argv: ['/bin/sh', '-c', 'echo "$GREETING $(pwd)"'], env: { GREETING: 'hi' }, cwd: '/tmp' });
  const r = recorder();
  const outcome = await runner.run(new AbortController().signal, r.ctx);
  assert.equal(outcome.ok, true);
  assert.equal(outcome.exitCode, 0);
  assert.deepEqual(r.lines, ['hi /tmp']);
});

test('ProcessRunner: a missing binary fails before start', async () => {
  await using runner = new ProcessRunner({ argv: ['/nonexistent/binary'] });
  const r = recorder();
  const outcome = await runner.run(new AbortController().signal, r.ctx);
  assert.equal(outcome.ok, false);
  assert.equal(outcome.started, false);
  assert.match(outcome.message, /ENOENT/);
  assert.deepEqual(r.events, []);
});

test('ProcessRunner: stop sends SIGTERM and a cooperative process exits without SIGKILL', async () => {
  await using runner = new ProcessRunner({ argv: ['/bin/sleep', '30'], gracePeriodMs: 5000 });
  const r = recorder();
  const ac = new AbortController();
  const run = runner.run(ac.signal, r.ctx);
  await until(() => r.events.length > 0, 'start');
  ac.abort();
  const outcome = await run;
  assert.equal(outcome.ok, true);
  assert.equal(outcome.signal, 'SIGTERM');
  assert.equal(r.events.filter((e) => e.includes('SIGKILL')).length, 0);
  assert.equal(alive(r.pid()), false);
});

test('ProcessRunner: stop escalates to SIGKILL when SIGTERM is ignored', async () => {
  const script = "process.on('SIGTERM', () => console.log('ignoring SIGTERM')); console.log('ready'); setInterval(() => {}, 1000);";
  await using runner = new ProcessRunner({ argv: [process.execPath, '-e', script], gracePeriodMs: 200 });
  const r = recorder();
  const ac = new AbortController();
  const run = runner.run(ac.signal, r.ctx);
  await until(() => r.lines.includes('ready'), 'ready line');
  ac.abort();
  const outcome = await run;
  assert.equal(outcome.signal, 'SIGKILL');
  assert.deepEqual(
    r.events.slice(1).map((e) => e.replace(/ to .*/, '')),
    [`${ServiceState.Stopping}: Sending SIGTERM`, `${ServiceState.Stopping}: Sending SIGKILL`],
  );
  assert.ok(r.lines.includes('ignoring SIGTERM'));
  assert.equal(alive(r.pid()), false);
});

test('ProcessRunner: processes forked by the service die with it', async () => {
  await using runner = new ProcessRunner({ argv: ['/bin/sh', '-c', '/bin/sleep 30 & echo $!; wait'], gracePeriodMs: 2000 });
  const r = recorder();
  const ac = new AbortController();
  const run = runner.run(ac.signal, r.ctx);
  await until(() => r.lines.length > 0, 'grandchild pid');
  const grandchild = Number(r.lines[0]);
  assert.equal(alive(grandchild), true);
  ac.abort();
  await run;
  await until(() => !alive(grandchild), 'grandchild to exit');
  assert.equal(alive(r.pid()), false);
});

test('ProcessRunner: dispose kills a process still running', async () => {
  const runner = new ProcessRunner({ argv: ['/bin/sleep', '30'] });
  const r = recorder();
  const run = runner.run(new AbortController().signal, r.ctx);
  await until(() => r.events.length > 0, 'start');
  await runner[Symbol.asyncDispose]();
  const outcome = await run;
  assert.equal(outcome.signal, 'SIGKILL');
  assert.equal(alive(r.pid()), false);
});
