import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromBinary } from '@bufbuild/protobuf';
import type { Any } from '@bufbuild/protobuf/wkt';
import { Code, TalosError, createLogger, hasCode, type LogRecord } from '@talos-ts/cosi';
import { commonPb, machinePb } from '@talos-ts/machinery';
import { EventBus } from '../events/bus.ts';
import { PhaseList, task, type TaskContext } from './phases.ts';
import { canTakeOver, isSequenceLocked } from './priority-lock.ts';
import { Sequencer } from './sequencer.ts';

interface Rt {
  readonly log: string[];
}

function setup(options: { takeOverTimeoutMs?: number } = {}) {
  const events = new EventBus();
  const records: LogRecord[] = [];
  const runtime: Rt = { log: [] };
  const sequencer = new Sequencer(runtime, {
    publish: (type, payload) => events.publish(type, payload),
    logger: createLogger({ level: 'debug', sink: (r) => records.push(r) }),
    ...options,
  });
  return { events, records, runtime, sequencer };
}

/** The events published so far, as `kind name ACTION` lines (errors appended). */
async function eventLines(events: EventBus): Promise<string[]> {
  const ac = new AbortController();
  const out: string[] = [];
  const history = events.subscribe({ signal: ac.signal, tailEvents: -1 });
  const timer = setTimeout(() => ac.abort(), 50);
  for await (const e of history) {
    const any = e.payload as Any;
    if (e.type === 'machine.SequenceEvent') {
      const s = fromBinary(machinePb.SequenceEventSchema, any.value);
      out.push(`sequence ${s.sequence} ${machinePb.SequenceEvent_Action[s.action]}${s.error ? ` ${commonPb.Code[s.error.code]}: ${s.error.message}` : ''}`);
    } else if (e.type === 'machine.PhaseEvent') {
      const p = fromBinary(machinePb.PhaseEventSchema, any.value);
      out.push(`phase ${p.phase} ${machinePb.PhaseEvent_Action[p.action]}`);
    } else if (e.type === 'machine.TaskEvent') {
      const t = fromBinary(machinePb.TaskEventSchema, any.value);
      out.push(`task ${t.task} ${machinePb.TaskEvent_Action[t.action]}`);
    }
  }
  clearTimeout(timer);
  return out;
}

/** A task that records its name and blocks until released (or its signal aborts). */
function gate(name: string) {
  let open!: () => void;
  let entered!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  const reached = new Promise<void>((r) => (entered = r));
  let sawAbort = false;
  const t = task<Rt>(name, async (ctx: TaskContext<Rt>) => {
    ctx.runtime.log.push(name);
    entered();
    await new Promise<void>((resolve, reject) => {
      void opened.then(resolve);
      ctx.signal.addEventListener('abort', () => {
        sawAbort = true;
        reject(ctx.signal.reason as Error);
      }, { once: true });
    });
  });
  return { task: t, open, reached, aborted: () => sawAbort };
}

const record = (name: string) => task<Rt>(name, (ctx) => void ctx.runtime.log.push(name));

test('Sequencer: phases run in order, tasks of a phase together, and every step publishes START and STOP', async () => {
  const { events, runtime, sequencer } = setup();
  const a = gate('slowA');
  const list = () => new PhaseList<Rt>().append('first', a.task, record('fastB')).append('second', record('c'));
  const run = sequencer.run('boot', list);
  await a.reached;
  // fastB ran beside slowA; the second phase waits for both.
  assert.deepEqual(runtime.log, ['slowA', 'fastB']);
  a.open();
  await run;
  assert.deepEqual(runtime.log, ['slowA', 'fastB', 'c']);
  assert.deepEqual(await eventLines(events), [
    'sequence boot START',
    'phase first START',
    'task slowA START',
    'task fastB START',
    'task fastB STOP',
    'task slowA STOP',
    'phase first STOP',
    'phase second START',
    'task c START',
    'task c STOP',
    'phase second STOP',
    'sequence boot STOP',
  ]);
  assert.equal(sequencer.running, undefined);
});

test('Sequencer: a deferred phase is decided when its turn comes; a skipped phase logs its reason and publishes nothing', async () => {
  const { events, records, runtime, sequencer } = setup();
  const list = () =>
    new PhaseList<Rt>()
      .append('one', record('one'))
      .appendDeferred(() => runtime.log.includes('one'), 'afterOne', record('two'))
      .appendDeferred(() => false, 'never', record('never'))
      .appendSkipped('drain', 'no kubelet runs on this node yet')
      .appendWhen(false, 'absent', record('absent'));
  await sequencer.run('shutdown', list);
  assert.deepEqual(runtime.log, ['one', 'two']);
  const lines = await eventLines(events);
  assert.ok(!lines.some((l) => /never|drain|absent/.test(l)), lines.join('\n'));
  assert.ok(records.some((r) => /phase drain \(4\/4\): skipped: no kubelet/.test(r.msg)), 'the skip is logged with the phase number');
  assert.ok(records.some((r) => r.msg === 'shutdown sequence: 4 phase(s)'));
});

test('Sequencer: a failed task stops the sequence, cancels its sibling, keeps its code, and publishes a FATAL error', async () => {
  const { events, runtime, sequencer } = setup();
  const sibling = gate('sibling');
  const list = () =>
    new PhaseList<Rt>()
      .append('leave', sibling.task, task<Rt>('leaveEtcd', () => {
        throw new TalosError(Code.FailedPrecondition, 'this node is the only voting member');
      }))
      .append('reset', record('wipe'));
  await assert.rejects(sequencer.run('reset', list), (e) => hasCode(e, Code.FailedPrecondition) && /phase leave \(1\/2\) in reset sequence: task leaveEtcd: this node is the only voting member/.test((e as Error).message));
  assert.ok(sibling.aborted(), 'the sibling task saw its signal abort');
  assert.ok(!runtime.log.includes('wipe'), 'nothing after the failed phase ran');
  const lines = await eventLines(events);
  assert.deepEqual(lines.slice(-3), ['phase leave STOP', 'sequence reset STOP', lines.at(-1)]);
  assert.match(lines.at(-1) ?? '', /^sequence reset NOOP FATAL: sequence failed: .*only voting member/);
  // The lock is free again.
  await sequencer.run('reboot', () => new PhaseList<Rt>().append('reboot', record('rebooted')));
  assert.ok(runtime.log.includes('rebooted'));
});

test('Sequencer: a second upgrade while one runs is refused with a typed FailedPrecondition and a LOCKED event; the first goes on', async () => {
  const { events, runtime, sequencer } = setup();
  const g = gate('upgrade');
  const first = sequencer.run('upgrade', () => new PhaseList<Rt>().append('upgrade', g.task).append('reboot', record('reboot')));
  await g.reached;
  assert.equal(sequencer.running, 'upgrade');
  const second = sequencer.run('upgrade', () => new PhaseList<Rt>().append('upgrade', record('second')));
  await assert.rejects(second, (e) => isSequenceLocked(e) && hasCode(e, Code.FailedPrecondition) && e.running === 'upgrade' && /upgrade sequence not started: the upgrade sequence is running/.test(e.message));
  // Neither may reset or a plain shutdown interrupt an upgrade.
  await assert.rejects(sequencer.run('reset', () => new PhaseList<Rt>()), isSequenceLocked);
  await assert.rejects(sequencer.run('shutdown', () => new PhaseList<Rt>()), isSequenceLocked);
  assert.ok(!g.aborted());
  g.open();
  await first;
  assert.deepEqual(runtime.log, ['upgrade', 'reboot']);
  const lines = await eventLines(events);
  assert.equal(lines.filter((l) => /^sequence upgrade NOOP LOCKED: sequence not started: upgrade sequence not started/.test(l)).length, 1, lines.join('\n'));
  assert.equal(lines.at(-1), 'sequence upgrade STOP');
});

test('Sequencer: reboot takes over a running boot: boot is canceled (CANCELED event), then reboot runs', async () => {
  const { events, runtime, sequencer } = setup();
  const g = gate('startAllServices');
  const boot = sequencer.run('boot', () => new PhaseList<Rt>().append('startEverything', g.task).append('after', record('bootAfter')));
  await g.reached;
  await sequencer.run('reboot', () => new PhaseList<Rt>().append('reboot', record('reboot')));
  await assert.rejects(boot, (e) => hasCode(e, Code.Canceled) && /taken over by reboot/.test((e as Error).message));
  assert.ok(g.aborted());
  assert.deepEqual(runtime.log, ['startAllServices', 'reboot']);
  const lines = await eventLines(events);
  const bootStop = lines.indexOf('sequence boot STOP');
  const rebootStart = lines.indexOf('sequence reboot START');
  assert.ok(bootStop >= 0 && rebootStart > bootStop, `reboot starts after boot stopped:\n${lines.join('\n')}`);
  assert.match(lines[bootStop + 1] ?? '', /^sequence boot NOOP CANCELED: sequence failed: .*boot sequence canceled: taken over by reboot$/);
});

test('Sequencer: takeover forces a sequence over one it may not replace (shutdown over upgrade), after the running one lets go', async () => {
  const { runtime, sequencer } = setup();
  // An upgrade task that ignores its signal for a while: the takeover waits for the phase to end.
  let finish!: () => void;
  const stubborn = task<Rt>('upgrade', async (ctx) => {
    ctx.runtime.log.push('upgrade');
    await new Promise<void>((r) => (finish = r));
    ctx.runtime.log.push('upgradeDone');
  });
  const upgrade = sequencer.run('upgrade', () => new PhaseList<Rt>().append('upgrade', stubborn).append('reboot', record('reboot')));
  await until(() => runtime.log.includes('upgrade'));
  const shutdown = sequencer.run('shutdown', () => new PhaseList<Rt>().append('shutdown', record('shutdown')), { takeover: true });
  await new Promise((r) => setTimeout(r, 20));
  assert.ok(!runtime.log.includes('shutdown'), 'shutdown waits for the upgrade to let go');
  finish();
  await shutdown;
  await assert.rejects(upgrade, (e) => hasCode(e, Code.Canceled));
  assert.deepEqual(runtime.log, ['upgrade', 'upgradeDone', 'shutdown'], 'the upgrade stopped at its phase boundary');
});

test('Sequencer: a takeover that the running sequence never lets go times out with DeadlineExceeded', async () => {
  const { sequencer } = setup({ takeOverTimeoutMs: 30 });
  let finish!: () => void;
  const run = sequencer.run('boot', () => new PhaseList<Rt>().append('stuck', task<Rt>('stuck', () => new Promise<void>((r) => (finish = r)))));
  await until(() => finish !== undefined);
  await assert.rejects(sequencer.run('reboot', () => new PhaseList<Rt>()), (e) => hasCode(e, Code.DeadlineExceeded) && /did not stop within 30 ms/.test((e as Error).message));
  finish();
  await assert.rejects(run, (e) => hasCode(e, Code.Canceled));
});

test('canTakeOver: upstream priorities (reboot over boot/reboot/reset/initialize; reset and upgrade only over boot)', () => {
  const yes: [string, string | undefined][] = [
    ['boot', undefined],
    ['reboot', 'boot'],
    ['reboot', 'initialize'],
    ['reboot', 'reboot'],
    ['reboot', 'reset'],
    ['reset', 'boot'],
    ['upgrade', 'boot'],
  ];
  const no: [string, string][] = [
    ['reboot', 'upgrade'],
    ['reset', 'reboot'],
    ['reset', 'reset'],
    ['upgrade', 'upgrade'],
    ['upgrade', 'reset'],
    ['shutdown', 'boot'],
    ['reset', 'initialize'],
  ];
  for (const [req, run] of yes) assert.ok(canTakeOver(req as never, run as never), `${req} over ${run ?? 'nothing'}`);
  for (const [req, run] of no) assert.ok(!canTakeOver(req as never, run as never), `${req} not over ${run}`);
});

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(check(), 'condition not reached');
}
