import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GrpcMetadata } from '@talos-ts/machinery';
import { Code, hasCode } from '@talos-ts/cosi';
import { MAX_FAN_OUT, defaultNodeAddress, forwardMetadata, routeOf } from './route.ts';

function md(pairs: [string, string][]): GrpcMetadata {
  const m: GrpcMetadata = new Map();
  for (const [k, v] of pairs) m.set(k, [...(m.get(k) ?? []), v]);
  return m;
}

const flat = (m: GrpcMetadata): Record<string, string> => Object.fromEntries([...m].map(([k, v]) => [k, v.join(',')]));

test('routeOf: nodes may be one comma list or repeated keys; proxyfrom pins the call here', () => {
  assert.deepEqual(routeOf(md([])), { mode: 'one', target: undefined });
  assert.deepEqual(routeOf(md([['node', 'b']])), { mode: 'one', target: 'b' });
  assert.deepEqual(routeOf(md([['nodes', 'a, b'], ['nodes', 'c']])), { mode: 'many', targets: ['a', 'b', 'c'] });
  assert.deepEqual(routeOf(md([['nodes', 'a,b'], ['proxyfrom', '10.0.0.1']])), { mode: 'one', target: undefined });
  assert.throws(() => routeOf(md([['node', 'a,b']])), /must name one node/);
});

test('defaultNodeAddress: adds the apid port; brackets IPv6', () => {
  assert.equal(defaultNodeAddress('10.0.0.2', 50000), '10.0.0.2:50000');
  assert.equal(defaultNodeAddress('fd00::1', 50000), '[fd00::1]:50000');
  assert.equal(defaultNodeAddress('[fd00::1]', 50000), '[fd00::1]:50000');
  assert.equal(defaultNodeAddress('node-1', 50000), 'node-1:50000');
});

test('apid: a target on another port than 50000 is refused (node and nodes), whatever its form', () => {
  for (const bad of ['10.0.0.2:6000', '10.0.0.2:50000', 'node-1:22', '[fd00::1]:7', '[fd00::1]:', 'localhost:']) {
    assert.throws(() => routeOf(md([['node', bad]])), (e) => hasCode(e, Code.InvalidArgument) && /names a port/.test((e as Error).message), bad);
    assert.throws(() => routeOf(md([['nodes', `a,${bad}`]])), (e) => hasCode(e, Code.InvalidArgument), bad);
  }
  for (const bad of ['a/b', 'user@host', 'a b', '::zz::', '[x]']) assert.throws(() => routeOf(md([['node', bad]])), (e) => hasCode(e, Code.InvalidArgument), bad);
  for (const good of ['10.0.0.2', 'fd00::1', '[fd00::1]', 'fe80::1%eth0', 'node-1.example.org', 'n']) assert.deepEqual(routeOf(md([['node', good]])), { mode: 'one', target: good });
});

test('apid: nodes are deduplicated in order and capped at MAX_FAN_OUT', () => {
  assert.deepEqual(routeOf(md([['nodes', 'b,a,b'], ['nodes', 'a,c']])), { mode: 'many', targets: ['b', 'a', 'c'] });
  const many = Array.from({ length: MAX_FAN_OUT }, (_, i) => `10.1.${i >> 8}.${i & 255}`);
  assert.equal((routeOf(md([['nodes', [...many, ...many].join(',')]])) as { targets: readonly string[] }).targets.length, MAX_FAN_OUT);
  assert.throws(() => routeOf(md([['nodes', [...many, '10.9.9.9'].join(',')]])), (e) => hasCode(e, Code.InvalidArgument) && /at most 256/.test((e as Error).message));
});

test('forwardMetadata: routing keys and client-sent roles are replaced; other keys pass', () => {
  const out = forwardMetadata(md([['nodes', 'a,b'], ['node', 'a'], ['talos-role', 'os:admin'], ['x-trace', 't1'], ['user-agent', 'ua']]), new Set(['os:reader'] as const), '10.0.0.1');
  assert.deepEqual(flat(out), { 'x-trace': 't1', 'talos-role': 'os:reader', proxyfrom: '10.0.0.1' });
  const local = forwardMetadata(md([['proxyfrom', '10.0.0.9']]), new Set(['os:admin'] as const), undefined);
  assert.deepEqual(flat(local), { proxyfrom: '10.0.0.9', 'talos-role': 'os:admin' });
});
