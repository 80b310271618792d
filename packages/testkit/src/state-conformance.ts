import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Code,
  hasCode,
  isAlreadyExists,
  isConflict,
  isNotFound,
  newResource,
  withSpec,
  type Resource,
  type State,
  type Watch,
  type WatchEvent,
} from '@talos-ts/cosi';

const kind = { namespace: 'default', type: 'Tests.test.talos.dev' };
const ptr = (id: string) => ({ ...kind, id });
const res = (id: string, spec: unknown, labels: Record<string, string> = {}) => newResource(kind, id, spec, { labels });

async function take(w: Watch, n: number, timeoutMs = 2000): Promise<WatchEvent[]> {
  const out: WatchEvent[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < n) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`got ${out.length} of ${n} events: ${JSON.stringify(out.map((e) => e.type))}`);
    const next = await Promise.race([w.next(), new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), left))]);
    if (next === 'timeout') continue;
    if (next.done) throw new Error(`watch ended after ${out.length} of ${n} events`);
    out.push(next.value);
  }
  return out;
}

const summary = (events: readonly WatchEvent[]) => events.map((e) => `${e.type}:${e.resource?.metadata.id ?? ''}`);

/**
 * The behaviour every State implementation must show. Call it from a test file with a factory
 * that returns a fresh, empty state.
 */
export function runStateConformance(name: string, makeState: () => State): void {
  const t = (title: string, fn: (s: State) => Promise<void> | void) => test(`${name}: ${title}`, () => fn(makeState()));

  t('create stores version 1 with the writer as owner and refuses a duplicate', (s) => {
    const r = s.create(res('a', { n: 1 }), { owner: 'ctrl' });
    assert.equal(r.metadata.version, 1);
    assert.equal(r.metadata.owner, 'ctrl');
    assert.equal(r.metadata.phase, 'running');
    assert.ok(r.metadata.created > 0 && r.metadata.updated === r.metadata.created);
    assert.throws(() => s.create(res('a', {})), isAlreadyExists);
  });

  t('get of a missing resource is not-found; find returns undefined', (s) => {
    assert.throws(() => s.get(ptr('nope')), (e) => isNotFound(e) && hasCode(e, Code.NotFound));
    assert.equal(s.find(ptr('nope')), undefined);
  });

  t('readers can never mutate stored state', (s) => {
    const input = { nested: { list: [1, 2] } };
    s.create(res('a', input));
    input.nested.list.push(3);
    const got = s.get<{ nested: { list: number[] } }>(ptr('a'));
    assert.deepEqual(got.spec.nested.list, [1, 2]);
    assert.throws(() => got.spec.nested.list.push(4), TypeError);
    assert.throws(() => {
      (got.metadata as { version: number }).version = 99;
    }, TypeError);
    assert.throws(() => {
      (got.metadata.labels as Record<string, string>)['x'] = 'y';
    }, TypeError);
    assert.deepEqual(s.get<{ nested: { list: number[] } }>(ptr('a')).spec.nested.list, [1, 2]);
  });

  t('specs must be plain data', (s) => {
    assert.throws(() => s.create(res('a', { when: new Date() })), (e) => hasCode(e, Code.InvalidArgument) && /spec\.when/.test((e as Error).message));
    assert.throws(() => s.create(res('b', { f: () => 1 })), (e) => hasCode(e, Code.InvalidArgument));
  });

  t('update is optimistic: the stored version must match, and it increments', (s) => {
    const v1 = s.create(res('a', { n: 1 }));
    const v2 = s.update(withSpec(v1, { n: 2 }));
    assert.equal(v2.metadata.version, 2);
    assert.throws(() => s.update(withSpec(v1, { n: 3 })), (e) => isConflict(e, 'version'));
    assert.deepEqual(s.get(ptr('a')).spec, { n: 2 });
  });

  t('only the owner may update, tear down or destroy', (s) => {
    const r = s.create(res('a', {}), { owner: 'owner-ctrl' });
    assert.throws(() => s.update(withSpec(r, { x: 1 }), { owner: 'other' }), (e) => isConflict(e, 'owner'));
    assert.throws(() => s.update(withSpec(r, { x: 1 })), (e) => isConflict(e, 'owner'));
    assert.throws(() => s.teardown(ptr('a'), { owner: 'other' }), (e) => isConflict(e, 'owner'));
    assert.throws(() => s.destroy(ptr('a')), (e) => isConflict(e, 'owner'));
    assert.throws(() => s.modify(ptr('a'), () => {}, { owner: 'other' }), (e) => isConflict(e, 'owner'));
    s.update(withSpec(r, { x: 1 }), { owner: 'owner-ctrl' });
    s.destroy(ptr('a'), { owner: 'owner-ctrl' });
    assert.equal(s.find(ptr('a')), undefined);
  });

  t('updates of a tearing-down resource conflict on phase unless the phase is expected', (s) => {
    s.create(res('a', { n: 1 }));
    s.teardown(ptr('a'));
    const cur = s.get(ptr('a'));
    assert.equal(cur.metadata.phase, 'tearingDown');
    assert.throws(() => s.update(withSpec(cur, { n: 2 })), (e) => isConflict(e, 'phase'));
    assert.throws(() => s.modify(ptr('a'), (d) => void (d.spec = { n: 3 })), (e) => isConflict(e, 'phase'));
    const u = s.update(withSpec(cur, { n: 2 }), { expectedPhase: 'tearingDown' });
    assert.equal(u.metadata.phase, 'tearingDown');
    s.update(withSpec(u, { n: 4 }), { expectedPhase: 'any' });
  });

  t('modify writes only when something changed, and creates from initial', (s) => {
    assert.throws(() => s.modify(ptr('a'), () => {}), isNotFound);
    const created = s.modify<{ n: number }>(ptr('a'), (d) => void (d.spec.n += 1), { initial: { n: 1 } });
    assert.equal(created.metadata.version, 1);
    assert.deepEqual(created.spec, { n: 2 });
    const same = s.modify<{ n: number }>(ptr('a'), (d) => void (d.spec.n = 2));
    assert.equal(same.metadata.version, 1);
    const labelled = s.modify<{ n: number }>(ptr('a'), (d) => void (d.labels['role'] = 'x'));
    assert.equal(labelled.metadata.version, 2);
    assert.deepEqual(labelled.metadata.labels, { role: 'x' });
  });

  t('teardown reports readiness; destroy is refused while finalizers remain', (s) => {
    s.create(res('a', {}));
    s.addFinalizer(ptr('a'), 'f1', 'f2');
    s.addFinalizer(ptr('a'), 'f1');
    assert.deepEqual(s.get(ptr('a')).metadata.finalizers, ['f1', 'f2']);
    assert.equal(s.teardown(ptr('a')), false);
    assert.throws(() => s.addFinalizer(ptr('a'), 'f3'), (e) => isConflict(e, 'phase'));
    assert.throws(() => s.destroy(ptr('a')), (e) => isConflict(e, 'finalizers'));
    s.removeFinalizer(ptr('a'), 'f1');
    assert.throws(() => s.destroy(ptr('a')), (e) => isConflict(e, 'finalizers'));
    s.removeFinalizer(ptr('a'), 'f2');
    assert.equal(s.teardown(ptr('a')), true);
    s.destroy(ptr('a'));
    assert.throws(() => s.destroy(ptr('a')), isNotFound);
  });

  t('finalizer changes bump the version; no-op changes do not', (s) => {
    s.create(res('a', {}));
    s.addFinalizer(ptr('a'), 'f');
    assert.equal(s.get(ptr('a')).metadata.version, 2);
    s.removeFinalizer(ptr('a'), 'absent');
    assert.equal(s.get(ptr('a')).metadata.version, 2);
  });

  t('namespaces and types are separate collections', (s) => {
    s.create(newResource({ namespace: 'n1', type: kind.type }, 'x', 1));
    s.create(newResource({ namespace: 'n2', type: kind.type }, 'x', 2));
    assert.equal(s.get({ namespace: 'n1', type: kind.type, id: 'x' }).spec, 1);
    assert.equal(s.list({ namespace: 'n2', type: kind.type }).length, 1);
    assert.equal(s.list({ namespace: 'n3', type: kind.type }).length, 0);
  });

  t('list filters by label query (every operator, inverted too) and id regexp, sorted by id', (s) => {
    s.create(res('c', {}, { role: 'worker', n: '10' }));
    s.create(res('a', {}, { role: 'controlplane', n: '9' }));
    s.create(res('b', {}, {}));
    const ids = (rs: readonly Resource[]) => rs.map((r) => r.metadata.id);
    assert.deepEqual(ids(s.list(kind)), ['a', 'b', 'c']);
    assert.deepEqual(ids(s.list(kind, { labelQuery: { terms: [{ key: 'role', op: 'exists' }] } })), ['a', 'c']);
    assert.deepEqual(ids(s.list(kind, { labelQuery: { terms: [{ key: 'role', op: 'exists', invert: true }] } })), ['b']);
    assert.deepEqual(ids(s.list(kind, { labelQuery: { terms: [{ key: 'role', op: 'equal', value: ['worker'] }] } })), ['c']);
    assert.deepEqual(ids(s.list(kind, { labelQuery: { terms: [{ key: 'role', op: 'equal', value: ['worker'], invert: true }] } })), ['a', 'b']);
    assert.deepEqual(ids(s.list(kind, { labelQuery: { terms: [{ key: 'role', op: 'in', value: ['worker', 'controlplane'] }] } })), ['a', 'c']);
    assert.deepEqual(ids(s.list(kind, { labelQuery: { terms: [{ key: 'n', op: 'lt', value: ['2'] }] } })), ['c']);
    assert.deepEqual(ids(s.list(kind, { labelQuery: { terms: [{ key: 'n', op: 'ltNumeric', value: ['10'] }] } })), ['a']);
    assert.deepEqual(ids(s.list(kind, { labelQuery: { terms: [{ key: 'n', op: 'lteNumeric', value: ['10'] }] } })), ['a', 'c']);
    assert.deepEqual(ids(s.list(kind, { labelQuery: { terms: [{ key: 'n', op: 'lte', value: ['10'] }] } })), ['c']);
    assert.deepEqual(ids(s.list(kind, { idQuery: /^[ab]$/ })), ['a', 'b']);
  });

  t('watchKind delivers created, updated (with old) and destroyed', async (s) => {
    using w = s.watchKind(kind);
    const r = s.create(res('a', { n: 1 }));
    s.update(withSpec(r, { n: 2 }));
    s.destroy(ptr('a'));
    const ev = await take(w, 3);
    assert.deepEqual(summary(ev), ['created:a', 'updated:a', 'destroyed:a']);
    assert.deepEqual(ev[1]?.old?.spec, { n: 1 });
    assert.deepEqual(ev[1]?.resource?.spec, { n: 2 });
  });

  t('bootstrapContents sends the snapshot, then BOOTSTRAPPED, then live events', async (s) => {
    s.create(res('b', {}));
    s.create(res('a', {}));
    using w = s.watchKind(kind, { bootstrapContents: true });
    s.create(res('c', {}));
    assert.deepEqual(summary(await take(w, 4)), ['created:a', 'created:b', 'bootstrapped:', 'created:c']);
  });

  t('tailEvents replays the last N past events, then live ones; it cannot be combined with bootstrapContents', async (s) => {
    for (const id of ['a', 'b', 'c', 'd']) s.create(res(id, {}));
    using w = s.watchKind(kind, { tailEvents: 2 });
    s.create(res('e', {}));
    assert.deepEqual(summary(await take(w, 3)), ['created:c', 'created:d', 'created:e']);
    assert.throws(() => s.watchKind(kind, { tailEvents: 1, bootstrapContents: true }), (e) => hasCode(e, Code.InvalidArgument));
  });

  t('a label-filtered watch sees resources leaving the set as destroyed and entering it as created', async (s) => {
    using w = s.watchKind(kind, { labelQuery: { terms: [{ key: 'role', op: 'equal', value: ['cp'] }] } });
    s.create(res('x', {}, { role: 'worker' }));
    s.modify(ptr('x'), (d) => void (d.labels['role'] = 'cp'));
    s.modify(ptr('x'), (d) => void (d.labels['role'] = 'worker'));
    s.create(res('y', {}, { role: 'cp' }));
    assert.deepEqual(summary(await take(w, 3)), ['created:x', 'destroyed:x', 'created:y']);
  });

  t('idQuery narrows a kind watch', async (s) => {
    using w = s.watchKind(kind, { idQuery: /^eth/ });
    s.create(res('lo', {}));
    s.create(res('eth0', {}));
    assert.deepEqual(summary(await take(w, 1)), ['created:eth0']);
    assert.equal(w.pending, 0);
  });

  t('watch of one resource sees only that resource', async (s) => {
    s.create(res('a', { n: 1 }));
    using w = s.watch(ptr('a'), { bootstrapContents: true });
    s.create(res('b', {}));
    s.modify<{ n: number }>(ptr('a'), (d) => void (d.spec.n = 2));
    assert.deepEqual(summary(await take(w, 3)), ['created:a', 'bootstrapped:', 'updated:a']);
  });

  t('a slow watcher overflows into one ERRORED event and ends, without blocking the writer', async (s) => {
    using w = s.watchKind(kind, { bufferSize: 10 });
    for (let i = 0; i < 100; i++) s.create(res(`r${i}`, {}));
    assert.equal(s.list(kind).length, 100);
    const events: WatchEvent[] = [];
    for await (const e of w) events.push(e);
    assert.equal(events.length, 11);
    assert.equal(events[10]?.type, 'errored');
    assert.ok(hasCode(events[10]?.error, Code.ResourceExhausted));
    s.create(res('after', {}));
    assert.equal(w.pending, 0);
  });

  t('nextBatch hands over every queued event at once and ends after close', async (s) => {
    const w = s.watchKind(kind, { bufferSize: 5 });
    for (const id of ['a', 'b', 'c']) s.create(res(id, {}));
    assert.deepEqual(summary((await w.nextBatch()) ?? []), ['created:a', 'created:b', 'created:c']);
    const pending = w.nextBatch();
    s.create(res('d', {}));
    assert.deepEqual(summary((await pending) ?? []), ['created:d']);
    for (let i = 0; i < 10; i++) s.create(res(`x${i}`, {}));
    const overflow = (await w.nextBatch()) ?? [];
    assert.equal(overflow.length, 6);
    assert.equal(overflow[5]?.type, 'errored');
    assert.equal(await w.nextBatch(), undefined);
    const w2 = s.watchKind(kind);
    const waiting = w2.nextBatch();
    w2.close();
    assert.equal(await waiting, undefined);
  });

  t('aborting the signal ends the watch', async (s) => {
    const ac = new AbortController();
    const w = s.watchKind(kind, { signal: ac.signal });
    const pending = w.next();
    ac.abort();
    assert.deepEqual(await pending, { value: undefined, done: true });
    s.create(res('a', {}));
    assert.equal((await w.next()).done, true);
  });
}
