import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { assertResources, startControllerSuite } from '@talos-ts/testkit';
import { createTransformController } from './generic/transform.ts';
import { dependencyGraph } from './graph.ts';
import { registerNamespace } from './meta.ts';
import { newResource } from './resource.ts';
import type { Controller } from './controller.ts';

const A = { namespace: 'default', type: 'As.test.talos.dev' };
const B = { namespace: 'default', type: 'Bs.test.talos.dev' };
const C = { namespace: 'default', type: 'Cs.test.talos.dev' };

const ab = createTransformController({ name: 'test.ABController', input: A, output: B, transform: (r) => ({ spec: r.spec }) });
const bc = createTransformController({ name: 'test.BCController', input: { ...B, kind: 'strong' }, output: C, transform: (r) => ({ spec: r.spec }) });
const watcher: Controller = {
  name: 'test."Quoted"Controller',
  inputs: [{ ...C, kind: 'destroyReady' }],
  outputs: [],
  run: async () => {},
};

function renderSvg(dot: string): string {
  const res = spawnSync('dot', ['-Tsvg'], { input: dot, encoding: 'utf8', timeout: 20_000 });
  assert.equal(res.status, 0, `dot failed: ${res.stderr}`);
  return res.stdout;
}

test('dependencyGraph: types and controllers render with Graphviz, edges labelled by input and output kind', () => {
  const dot = dependencyGraph([ab, bc, watcher]);
  assert.match(dot, /"type:As\.test\.talos\.dev" -> "controller:test\.ABController" \[label="weak"/);
  assert.match(dot, /"controller:test\.ABController" -> "type:Bs\.test\.talos\.dev" \[label="exclusive"\]/);
  assert.match(dot, /"type:Bs\.test\.talos\.dev" -> "controller:test\.BCController" \[label="strong"/);
  assert.match(dot, /label="destroyReady"/);
  const svg = renderSvg(dot);
  assert.match(svg, /<svg/);
  for (const name of ['test.ABController', 'test.BCController', 'As.test.talos.dev', 'Cs.test.talos.dev']) assert.ok(svg.includes(name), name);
  assert.equal((svg.match(/class="node"/g) ?? []).length, 6);
  // 5 declared edges plus each transform watching its own output kind (destroyReady).
  assert.equal((svg.match(/class="edge"/g) ?? []).length, 7);
});

test('dependencyGraph: the resource variant draws instances owned by each controller', async () => {
  await using suite = startControllerSuite({ controllers: [ab, bc] });
  registerNamespace(suite.state, 'default');
  suite.state.create(newResource(A, 'one', { v: 1 }));
  suite.state.create(newResource(A, 'two', { v: 2 }));
  await assertResources(suite.state, C, { ids: ['one', 'two'] });
  const dot = dependencyGraph(suite.runtime.controllers, { withResources: suite.state });
  assert.match(dot, /"resource:default\/As\.test\.talos\.dev\/one" -> "controller:test\.ABController"/);
  assert.match(dot, /"controller:test\.BCController" -> "resource:default\/Cs\.test\.talos\.dev\/two"/);
  const svg = renderSvg(dot);
  assert.equal((svg.match(/class="node"/g) ?? []).length, 8);
});
