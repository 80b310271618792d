import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GrpcMetadata } from '@talos-ts/machinery';
import { defaultNodeAddress, forwardMetadata, routeOf } from './route.ts';

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

test('defaultNodeAddress: adds the apid port unless one is given; brackets IPv6', () => {
  assert.equal(defaultNodeAddress('10.0.0.2', 50000), '10.0.0.2:50000');
  assert.equal(defaultNodeAddress('10.0.0.2:6000', 50000), '10.0.0.2:6000');
  assert.equal(defaultNodeAddress('fd00::1', 50000), '[fd00::1]:50000');
  assert.equal(defaultNodeAddress('[fd00::1]:7', 50000), '[fd00::1]:7');
  assert.equal(defaultNodeAddress('node-1', 50000), 'node-1:50000');
});

test('forwardMetadata: routing keys and client-sent roles are replaced; other keys pass', () => {
  const out = forwardMetadata(md([['nodes', 'a,b'], ['node', 'a'], ['talos-role', 'os:admin'], ['x-trace', 't1'], ['user-agent', 'ua']]), new Set(['os:reader'] as const), '10.0.0.1');
  assert.deepEqual(flat(out), { 'x-trace': 't1', 'talos-role': 'os:reader', proxyfrom: '10.0.0.1' });
  const local = forwardMetadata(md([['proxyfrom', '10.0.0.9']]), new Set(['os:admin'] as const), undefined);
  assert.deepEqual(flat(local), { proxyfrom: '10.0.0.9', 'talos-role': 'os:admin' });
});
