import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock, assertResources, startControllerSuite } from '@talos-ts/testkit';
import type { Controller, ControllerContext } from './controller.ts';
import { Code, hasCode } from './errors.ts';
import { newResource } from './resource.ts';
import { InMemoryState } from './state.ts';
import { Runtime } from './runtime.ts';

const A = { namespace: 'default', type: 'As.test.talos.dev' };
const B = { namespace: 'default', type: 'Bs.test.talos.dev' };

function controller(name: string, body: (ctx: ControllerContext) => Promise<void>, extra: Partial<Controller> = {}): Controller {
  return {
    name,
    inputs: [{ ...A, kind: 'weak' }],
    outputs: [{ type: B.type, kind: 'exclusive' }],
    run: body,
    ...extra,
  };
}

const idle = async (ctx: ControllerContext) => {
  for await (const _ of ctx.changes()) {
    /* nothing */
  }
};

test('Runtime: two exclusive owners of one output type are rejected at start, naming both', async () => {
  const rt = new Runtime(new InMemoryState());
  rt.register(controller('test.OneController', idle), controller('test.TwoController', idle));
  await assert.rejects(rt.run(new AbortController().signal), (e) => {
    assert.ok(hasCode(e, Code.FailedPrecondition));
    assert.match((e as Error).message, /Bs\.test\.talos\.dev is exclusive to test\.OneController but also declared by test\.TwoController/);
    return true;
  });
});

test('Runtime: an exclusive output also declared shared elsewhere is rejected; shared with shared is fine', async () => {
  const shared = { outputs: [{ type: B.type, kind: 'shared' as const }] };
  const bad = new Runtime(new InMemoryState());
  bad.register(controller('test.OneController', idle), controller('test.TwoController', idle, shared));
  await assert.rejects(bad.run(new AbortController().signal), /exclusive/);
  const ok = new Runtime(new InMemoryState());
  ok.register(controller('test.OneController', idle, shared), controller('test.TwoController', idle, shared));
  const ac = new AbortController();
  const done = ok.run(ac.signal);
  ac.abort();
  await done;
});

test('Runtime: registering the same controller name twice fails', () => {
  const rt = new Runtime(new InMemoryState());
  rt.register(controller('test.OneController', idle));
  assert.throws(() => rt.register(controller('test.OneController', idle)), (e) => hasCode(e, Code.AlreadyExists));
});

test('Runtime: writing an undeclared output or reading an undeclared input is an error', async () => {
  const errors: string[] = [];
  const writer = controller('test.WriterController', async (ctx) => {
    try {
      ctx.create(newResource({ namespace: 'default', type: 'Others.test.talos.dev' }, 'x', {}));
    } catch (e) {
      errors.push((e as Error).message);
    }
    try {
      ctx.list({ namespace: 'default', type: 'Secrets.test.talos.dev' });
    } catch (e) {
      errors.push((e as Error).message);
    }
    try {
      ctx.addFinalizer({ ...A, id: 'a' }, 'f');
    } catch (e) {
      errors.push((e as Error).message);
    }
    await idle(ctx);
  });
  await using suite = startControllerSuite({ controllers: [writer] });
  for (let i = 0; i < 100 && errors.length < 3; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(errors.length, 3);
  assert.match(errors[0] ?? '', /writes Others\.test\.talos\.dev, which is not a declared output/);
  assert.match(errors[1] ?? '', /reads default\/Secrets\.test\.talos\.dev, which is not a declared input/);
  assert.match(errors[2] ?? '', /not a strong input/);
  assert.equal(suite.state.find({ namespace: 'default', type: 'Others.test.talos.dev', id: 'x' }), undefined);
});

test('Runtime: a controller that throws is restarted with exponential backoff', async () => {
  const clock = new FakeClock();
  let runs = 0;
  const flaky = controller('test.FlakyController', async (ctx) => {
    runs++;
    if (runs <= 3) throw new Error(`failure ${runs}`);
    await idle(ctx);
  });
  await using suite = startControllerSuite({ controllers: [flaky], clock, backoff: { initialMs: 100, maxMs: 1000 } });
  await clock.untilSleeping();
  assert.equal(runs, 1);
  await clock.advance(99);
  assert.equal(runs, 1, 'no restart before the first backoff elapses');
  await clock.advance(1);
  assert.equal(runs, 2);
  await clock.untilSleeping();
  await clock.advance(199);
  assert.equal(runs, 2, 'second backoff is doubled');
  await clock.advance(1);
  assert.equal(runs, 3);
  await clock.untilSleeping();
  await clock.advance(400);
  assert.equal(runs, 4);
  const status = suite.runtime.status('test.FlakyController');
  assert.equal(status.restarts, 3);
  assert.equal(status.lastError, 'failure 3');
});

test('Runtime: backoff is capped at maxMs', async () => {
  const clock = new FakeClock();
  let runs = 0;
  const broken = controller('test.BrokenController', async () => {
    runs++;
    throw new Error('always');
  });
  await using _suite = startControllerSuite({ controllers: [broken], clock, backoff: { initialMs: 100, maxMs: 300 } });
  const delays = [100, 200, 300, 300];
  for (const [i, d] of delays.entries()) {
    await clock.untilSleeping();
    await clock.advance(d - 1);
    assert.equal(runs, i + 1);
    await clock.advance(1);
    assert.equal(runs, i + 2);
  }
});

test('Runtime: a burst of input changes coalesces into few wake-ups', async () => {
  let seen = 0;
  const counter = controller('test.CounterController', async (ctx) => {
    for await (const _ of ctx.changes()) {
      seen = ctx.list(A).length;
      ctx.modify({ ...B, id: 'count' }, { n: 0 }, (d) => void (d.spec = { n: seen }));
    }
  });
  await using suite = startControllerSuite({ controllers: [counter] });
  await assertResources(suite.state, B, { ids: ['count'] });
  const before = suite.runtime.status('test.CounterController').wakeups;
  for (let i = 0; i < 1000; i++) suite.state.create(newResource(A, `a${i}`, {}));
  await assertResources<{ n: number }>(suite.state, B, { ids: ['count'], check: (r) => assert.equal(r.spec.n, 1000) });
  const wakeups = suite.runtime.status('test.CounterController').wakeups - before;
  assert.ok(wakeups >= 1 && wakeups <= 3, `1000 writes caused ${wakeups} wake-ups`);
});

test('Runtime: destroyReady inputs wake the controller only when a torn-down input has no finalizers left', async () => {
  const state = new InMemoryState();
  let wakeups = 0;
  const c = controller(
    'test.CleanupController',
    async (ctx) => {
      for await (const _ of ctx.changes()) wakeups++;
    },
    { inputs: [{ ...A, kind: 'destroyReady' }] },
  );
  const rt = new Runtime(state);
  rt.register(c);
  const ac = new AbortController();
  const done = rt.run(ac.signal);
  // Positive expectations are polled (bounded); negative ones get a generous quiet period, so a
  // loaded machine cannot make the test pass or fail by timing alone.
  const until = async (n: number) => {
    for (let i = 0; i < 200 && wakeups < n; i++) await new Promise((r) => setTimeout(r, 10));
  };
  const quiet = () => new Promise((r) => setTimeout(r, 150));
  await until(1);
  await quiet();
  assert.equal(wakeups, 1, 'initial wake-up only');
  state.create(newResource(A, 'x', {}));
  state.addFinalizer({ ...A, id: 'x' }, 'keep');
  state.teardown({ ...A, id: 'x' });
  await quiet();
  assert.equal(wakeups, 1, 'not ready while a finalizer remains');
  state.removeFinalizer({ ...A, id: 'x' }, 'keep');
  await until(2);
  assert.equal(wakeups, 2);
  ac.abort();
  await done;
});

test('Runtime: strong inputs may carry the controller finalizers', async () => {
  const c = controller(
    'test.HolderController',
    async (ctx) => {
      for await (const _ of ctx.changes()) {
        for (const r of ctx.list(A)) ctx.addFinalizer({ ...A, id: r.metadata.id }, 'test.HolderController');
      }
    },
    { inputs: [{ ...A, kind: 'strong' }] },
  );
  await using suite = startControllerSuite({ controllers: [c] });
  suite.state.create(newResource(A, 'x', {}));
  await assertResources(suite.state, A, { ids: ['x'], check: (r) => assert.deepEqual(r.metadata.finalizers, ['test.HolderController']) });
});

test('Runtime: one abort stops every controller and run() resolves', async () => {
  const rt = new Runtime(new InMemoryState());
  for (let i = 0; i < 5; i++) rt.register(controller(`test.C${i}Controller`, idle, { outputs: [] }));
  const ac = new AbortController();
  const done = rt.run(ac.signal);
  await new Promise((r) => setTimeout(r, 10));
  assert.ok(rt.status('test.C0Controller').running);
  ac.abort();
  await done;
  for (let i = 0; i < 5; i++) assert.equal(rt.status(`test.C${i}Controller`).running, false);
});
