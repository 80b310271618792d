import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemoryState, createLogger, type LogRecord } from '@talos-ts/cosi';
import { NamespaceName, ServiceType, type ServiceSpec } from '@talos-ts/machinery';
import { ProcessRunner } from '../linux/process.ts';
import { ServiceState } from './events.ts';
import type { HealthCheck } from './health.ts';
import { TaskRunner, type ProcessSpec } from './runner.ts';
import type { ServiceInfo } from './service-runner.ts';
import { RestartPolicy, fileExists, type ServiceDefinition } from './service.ts';
import { ServiceSupervisor } from './supervisor.ts';

// A zombie counts as gone: orphans are reaped by PID 1, which in this sandbox is not us.
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Pids from every "started with PID n" event of a service. */
function pids(info: ServiceInfo): number[] {
  return info.events.flatMap((e) => {
    const m = /started with PID (\d+)/.exec(e.message);
    return m ? [Number(m[1])] : [];
  });
}

function assertNoneAlive(sup: ServiceSupervisor): void {
  for (const info of sup.list()) for (const pid of pids(info)) assert.equal(alive(pid), false, `${info.id} left pid ${pid} running`);
}

function proc(id: string, spec: ProcessSpec, extra: Partial<ServiceDefinition> = {}): ServiceDefinition {
  return { id, runner: () => new ProcessRunner(spec), ...extra };
}

function task(id: string, fn: (signal: AbortSignal) => Promise<void>, extra: Partial<ServiceDefinition> = {}): ServiceDefinition {
  return { id, runner: () => new TaskRunner(id, fn), ...extra };
}

/** Runs until aborted. */
const idle = (signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitState(sup: ServiceSupervisor, id: string, state: ServiceState): Promise<ServiceInfo> {
  return sup.waitFor(id, (i) => i.state === state, AbortSignal.timeout(10_000));
}

const states = (info: ServiceInfo): string[] => info.events.map((e) => e.state);

test('supervisor: a process that exits 0 under Once goes Preparing → Running → Finished', async () => {
  await using sup = new ServiceSupervisor();
  sup.loadAndStart(proc('one', { argv: ['/bin/sh', '-c', 'echo done'] }, { restart: RestartPolicy.Once }));
  const info = await waitState(sup, 'one', ServiceState.Finished);
  assert.deepEqual(states(info), ['Preparing', 'Preparing', 'Running', 'Finished']);
  assert.equal(info.events.at(-1)?.message, 'Service finished successfully');
  assert.deepEqual(sup.logs('one').tail(1), ['done']);
  assertNoneAlive(sup);
});

test('supervisor: a failing process under Once ends Failed with the exit code', async () => {
  await using sup = new ServiceSupervisor();
  sup.loadAndStart(proc('one', { argv: ['/bin/sh', '-c', 'exit 3'] }, { restart: RestartPolicy.Once }));
  const info = await waitState(sup, 'one', ServiceState.Failed);
  assert.match(info.events.at(-1)?.message ?? '', /^Service failed: error running Process.*: exit code 3$/);
  assert.equal(states(info).filter((s) => s === 'Running').length, 1);
  assertNoneAlive(sup);
});

test('supervisor: Forever restarts a failing process after the restart interval, until stopped', async () => {
  await using sup = new ServiceSupervisor({ restartIntervalMs: 30 });
  sup.loadAndStart(proc('flappy', { argv: ['/bin/sh', '-c', 'exit 1'] }));
  const info = await sup.waitFor('flappy', (i) => pids(i).length >= 3, AbortSignal.timeout(10_000));
  const waiting = info.events.filter((e) => e.state === ServiceState.Waiting);
  assert.ok(waiting.length >= 2);
  assert.match(waiting[0]?.message ?? '', /^Error running Process.*, going to restart forever: exit code 1$/);
  await sup.stop('flappy');
  const after = sup.get('flappy');
  assert.equal(after.state, ServiceState.Finished);
  assert.ok(states(after).includes(ServiceState.Stopping));
  assertNoneAlive(sup);
});

test('supervisor: Forever also restarts a process that exits 0', async () => {
  await using sup = new ServiceSupervisor({ restartIntervalMs: 20 });
  sup.loadAndStart(proc('again', { argv: ['/bin/true'] }));
  const info = await sup.waitFor('again', (i) => pids(i).length >= 2, AbortSignal.timeout(10_000));
  assert.match(info.events.find((e) => e.state === ServiceState.Waiting)?.message ?? '', /exited without error, going to restart it/);
});

test('supervisor: UntilSuccess restarts after failures and stops restarting after exit 0', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'until-'));
  try {
    await using sup = new ServiceSupervisor({ restartIntervalMs: 20 });
    const script = `n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; echo run $n; [ $n -ge 3 ]`;
    sup.loadAndStart(proc('until', { argv: ['/bin/sh', '-c', script], cwd: dir }, { restart: RestartPolicy.UntilSuccess }));
    const info = await waitState(sup, 'until', ServiceState.Finished);
    assert.equal(pids(info).length, 3);
    assert.equal(info.events.filter((e) => /going to restart until it succeeds: exit code 1/.test(e.message)).length, 2);
    await wait(100); // several restart intervals: no further run may happen
    assert.equal(pids(sup.get('until')).length, 3);
    assert.deepEqual(sup.logs('until').tail(), ['run 1', 'run 2', 'run 3']);
    assertNoneAlive(sup);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('supervisor: stop moves a running process through Stopping to Finished and the pid is gone', async () => {
  await using sup = new ServiceSupervisor();
  sup.loadAndStart(proc('sleeper', { argv: ['/bin/sleep', '30'] }));
  const running = await waitState(sup, 'sleeper', ServiceState.Running);
  const [pid] = pids(running);
  assert.ok(pid !== undefined && alive(pid));
  await sup.stop('sleeper');
  const info = sup.get('sleeper');
  assert.deepEqual(states(info).slice(-3), ['Stopping', 'Stopping', 'Finished']);
  assert.match(info.events.at(-2)?.message ?? '', /^Sending SIGTERM to Process/);
  assert.equal(alive(pid), false);
});

test('supervisor: stop escalates SIGTERM to SIGKILL for a process ignoring SIGTERM', async () => {
  await using sup = new ServiceSupervisor();
  const script = "process.on('SIGTERM', () => {}); console.log('ready'); setInterval(() => {}, 1000);";
  sup.loadAndStart(proc('stubborn', { argv: [process.execPath, '-e', script], gracePeriodMs: 150 }));
  for await (const line of sup.logs('stubborn').follow(AbortSignal.timeout(10_000), { tailLines: 10 })) if (line === 'ready') break;
  await sup.stop('stubborn');
  const info = sup.get('stubborn');
  const messages = info.events.map((e) => e.message.replace(/ to Process.*/, ''));
  assert.deepEqual(messages.slice(-4), ['Stopping service', 'Sending SIGTERM', 'Sending SIGKILL', 'Service finished successfully']);
  assertNoneAlive(sup);
});

test('supervisor: restart stops the service and starts it again with a new process', async () => {
  await using sup = new ServiceSupervisor();
  sup.loadAndStart(proc('r', { argv: ['/bin/sleep', '30'] }));
  await waitState(sup, 'r', ServiceState.Running);
  await sup.restart('r');
  const info = await sup.waitFor('r', (i) => i.state === ServiceState.Running && pids(i).length === 2, AbortSignal.timeout(10_000));
  const [first, second] = pids(info);
  assert.notEqual(first, second);
  assert.equal(alive(first ?? 0), false);
  assert.equal(alive(second ?? 0), true);
  await sup.stopAll();
  assertNoneAlive(sup);
});

test('supervisor: B waits for A to be Running and healthy before it starts', async () => {
  let healthy = false;
  const check: HealthCheck = { initialDelayMs: 0, periodMs: 10, timeoutMs: 100, check: async () => void assert.ok(healthy, 'not yet') };
  await using sup = new ServiceSupervisor();
  sup.load(task('b', idle, { dependsOn: ['a'] }), task('a', idle, { healthCheck: check }));
  sup.startAll();
  await sup.waitFor('a', (i) => i.state === ServiceState.Running && !i.health.unknown, AbortSignal.timeout(10_000));
  await wait(50);
  const b = sup.get('b');
  assert.equal(b.state, ServiceState.Waiting);
  assert.equal(b.events.at(-1)?.message, 'Waiting for service "a" to be "up"');
  healthy = true;
  await waitState(sup, 'b', ServiceState.Running);
  assert.equal(sup.get('a').health.healthy, true);
});

test('supervisor: a failed dependency keeps its dependent Waiting', async () => {
  await using sup = new ServiceSupervisor({ restartIntervalMs: 10 });
  sup.loadAndStart(
    // never starts: the binary is missing (Once), or it never passes its health check (Forever)
    proc('a', { argv: ['/nonexistent/etcd'] }, { restart: RestartPolicy.Once }),
    task('u', idle, { healthCheck: { initialDelayMs: 0, periodMs: 10, check: async () => Promise.reject(new Error('no quorum')) } }),
    task('b', idle, { dependsOn: ['a'] }),
    task('c', idle, { dependsOn: ['u'] }),
  );
  const a = await waitState(sup, 'a', ServiceState.Failed);
  assert.match(a.events.at(-1)?.message ?? '', /^Service failed: error running Process.*: error starting process: .*ENOENT/);
  await sup.waitFor('u', (i) => i.health.lastMessage === 'no quorum', AbortSignal.timeout(10_000));
  await wait(50);
  assert.equal(sup.get('b').state, ServiceState.Waiting);
  assert.equal(sup.get('c').state, ServiceState.Waiting);
  await sup.stopAll();
  for (const id of ['b', 'c']) {
    assert.equal(sup.get(id).state, ServiceState.Finished);
    assert.ok(!states(sup.get(id)).includes(ServiceState.Running));
  }
});

test('supervisor: stopAll stops services in reverse dependency order', async () => {
  const stopped: string[] = [];
  const recordStop = (id: string) => async (signal: AbortSignal) => {
    await idle(signal);
    await wait(id === 'c' ? 30 : 0); // the slowest to stop is the first that must finish
    stopped.push(id);
  };
  await using sup = new ServiceSupervisor();
  sup.loadAndStart(
    task('a', recordStop('a')),
    task('b', recordStop('b'), { dependsOn: ['a'] }),
    task('c', recordStop('c'), { dependsOn: ['b'] }),
    task('d', recordStop('d'), { dependsOn: ['a'] }),
  );
  await waitState(sup, 'c', ServiceState.Running);
  await waitState(sup, 'd', ServiceState.Running);
  await sup.stopAll();
  assert.equal(stopped.at(-1), 'a');
  assert.ok(stopped.indexOf('c') < stopped.indexOf('b'));
  assert.deepEqual(new Set(stopped), new Set(['a', 'b', 'c', 'd']));
  for (const info of sup.list()) assert.equal(info.state, ServiceState.Finished);
});

test('supervisor: health transitions healthy → unhealthy (timeout) → healthy are recorded as events', async () => {
  let mode: 'ok' | 'hang' = 'ok';
  const check: HealthCheck = {
    initialDelayMs: 0,
    periodMs: 10,
    timeoutMs: 30,
    check: () => (mode === 'ok' ? Promise.resolve() : new Promise<void>(() => {})),
  };
  await using sup = new ServiceSupervisor();
  sup.loadAndStart(task('h', idle, { healthCheck: check }));
  await sup.waitFor('h', (i) => i.health.healthy, AbortSignal.timeout(10_000));
  mode = 'hang';
  const unhealthy = await sup.waitFor('h', (i) => !i.health.unknown && !i.health.healthy, AbortSignal.timeout(10_000));
  assert.equal(unhealthy.health.lastMessage, 'health check timed out after 30ms');
  mode = 'ok';
  const back = await sup.waitFor('h', (i) => i.health.healthy, AbortSignal.timeout(10_000));
  const healthEvents = back.events.filter((e) => e.message.startsWith('Health check')).map((e) => e.message);
  assert.deepEqual(healthEvents, ['Health check successful', 'Health check failed: health check timed out after 30ms', 'Health check successful']);
  assert.ok(back.events.filter((e) => e.message.startsWith('Health check')).every((e) => e.state === ServiceState.Running));
  assert.ok(back.health.lastChange >= unhealthy.health.lastChange);
});

test('supervisor: the health check waits for its initial delay after Running', async () => {
  let firstProbe = 0;
  const check: HealthCheck = {
    initialDelayMs: 120,
    periodMs: 1000,
    check: async () => {
      firstProbe ||= Date.now();
    },
  };
  await using sup = new ServiceSupervisor();
  sup.loadAndStart(task('d', idle, { healthCheck: check }));
  const running = await waitState(sup, 'd', ServiceState.Running);
  assert.equal(running.health.unknown, true);
  await sup.waitFor('d', (i) => i.health.healthy, AbortSignal.timeout(10_000));
  const runningAt = running.events.at(-1)?.timestamp ?? 0;
  assert.ok(firstProbe - runningAt >= 110, `probed ${firstProbe - runningAt}ms after Running`);
});

test('supervisor: the event history keeps only the last 64 events', async () => {
  let runs = 0;
  await using sup = new ServiceSupervisor({ restartIntervalMs: 1 });
  sup.loadAndStart(task('busy', async () => void runs++));
  const info = await sup.waitFor('busy', () => runs >= 60, AbortSignal.timeout(10_000));
  assert.equal(info.events.length, 64);
  assert.ok(!info.events.some((e) => e.state === ServiceState.Preparing), 'the oldest events were dropped');
  const ts = info.events.map((e) => e.timestamp);
  assert.deepEqual(ts, [...ts].sort((x, y) => x - y));
});

test('supervisor: Service resources reflect running and health', async () => {
  const state = new InMemoryState();
  let healthy = true;
  const check: HealthCheck = { initialDelayMs: 0, periodMs: 10, check: async () => void assert.ok(healthy, 'down') };
  await using sup = new ServiceSupervisor({ state });
  sup.loadAndStart(task('apid', idle, { healthCheck: check }), task('plain', idle));
  const spec = (id: string): ServiceSpec => state.get<ServiceSpec>({ namespace: NamespaceName.runtime, type: ServiceType, id }).spec;

  await sup.waitFor('apid', (i) => i.health.healthy, AbortSignal.timeout(10_000));
  await waitState(sup, 'plain', ServiceState.Running);
  assert.deepEqual(spec('apid'), { running: true, healthy: true, unknown: false });
  assert.deepEqual(spec('plain'), { running: true, healthy: false, unknown: true });
  assert.equal(state.get({ namespace: NamespaceName.runtime, type: ServiceType, id: 'apid' }).metadata.owner, 'v1alpha1.ServiceController');

  healthy = false;
  await sup.waitFor('apid', (i) => !i.health.healthy && !i.health.unknown, AbortSignal.timeout(10_000));
  assert.deepEqual(spec('apid'), { running: true, healthy: false, unknown: false });

  await sup.stop('plain');
  assert.deepEqual(spec('plain'), { running: false, healthy: false, unknown: true });
});

test('supervisor: a condition holds the service in Waiting until it is met', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cond-'));
  try {
    const flag = join(dir, 'ready');
    await using sup = new ServiceSupervisor();
    sup.loadAndStart(task('c', idle, { condition: fileExists(flag, { pollMs: 10 }) }));
    await wait(40);
    const waiting = sup.get('c');
    assert.equal(waiting.state, ServiceState.Waiting);
    assert.equal(waiting.events.at(-1)?.message, `Waiting for file ${JSON.stringify(flag)} to exist`);
    await writeFile(flag, '');
    await waitState(sup, 'c', ServiceState.Running);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('supervisor: stopping a Waiting service finishes it without running; prepare and postStop hooks run', async () => {
  const calls: string[] = [];
  await using sup = new ServiceSupervisor();
  sup.loadAndStart(
    task('w', idle, { dependsOn: ['never-loaded'] }),
    task('p', idle, {
      restart: RestartPolicy.Once,
      prepare: async () => void calls.push('prepare'),
      postStop: async (s) => void calls.push(`postStop ${s}`),
    }),
  );
  await waitState(sup, 'w', ServiceState.Waiting);
  await waitState(sup, 'p', ServiceState.Running);
  await sup.stop('w');
  await sup.stop('p');
  assert.equal(sup.get('w').state, ServiceState.Finished);
  assert.deepEqual(calls, ['prepare', 'postStop Finished']);
});

test('supervisor: a failing prepare hook fails the service, naming the stage', async () => {
  await using sup = new ServiceSupervisor();
  sup.loadAndStart(task('bad', idle, { prepare: async () => Promise.reject(new Error('no certs')) }));
  const info = await waitState(sup, 'bad', ServiceState.Failed);
  assert.equal(info.events.at(-1)?.message, 'Failed to run pre stage: no certs');
  assert.ok(!states(info).includes(ServiceState.Running));
});

test('supervisor: a runner factory returning nothing skips the service; Skipped counts as up', async () => {
  await using sup = new ServiceSupervisor();
  sup.loadAndStart({ id: 'skip', runner: () => undefined }, task('after', idle, { dependsOn: ['skip'] }));
  assert.equal((await waitState(sup, 'skip', ServiceState.Skipped)).events.at(-1)?.message, 'Service skipped');
  await waitState(sup, 'after', ServiceState.Running);
});

test('supervisor: a dependency cycle is refused at load; unknown ids are NotFound', async () => {
  await using sup = new ServiceSupervisor();
  assert.throws(() => sup.load(task('x', idle, { dependsOn: ['y'] }), task('y', idle, { dependsOn: ['x'] })), /cycle: x → y → x/);
  assert.throws(() => sup.get('nope'), /service "nope" not defined/);
  assert.throws(() => sup.start('nope'), /not defined/);
  assert.deepEqual(sup.list(), []);
});

test('supervisor: each service logs through its own child logger', async () => {
  const records: LogRecord[] = [];
  await using sup = new ServiceSupervisor({ logger: createLogger({ sink: (r) => records.push(r) }) });
  sup.loadAndStart(task('logged', async () => {}, { restart: RestartPolicy.Once }));
  await waitState(sup, 'logged', ServiceState.Finished);
  const mine = records.filter((r) => r['service'] === 'logged');
  assert.ok(mine.some((r) => r.msg === 'Service finished successfully' && r['state'] === 'Finished'));
});

test('supervisor: dispose stops every process and refuses new work', async () => {
  const sup = new ServiceSupervisor();
  sup.loadAndStart(proc('s1', { argv: ['/bin/sleep', '30'] }), proc('s2', { argv: ['/bin/sleep', '30'] }, { dependsOn: ['s1'] }));
  await waitState(sup, 's2', ServiceState.Running);
  await sup[Symbol.asyncDispose]();
  assertNoneAlive(sup);
  assert.throws(() => sup.start('s1'), /shutting down/);
});
