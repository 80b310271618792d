import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, hasCode } from '@talos-ts/cosi';
import { discoveryEndpoint, isClusterNetns, planNetwork } from './network.ts';

test('planNetwork: bridge takes .1, control planes then workers take .2, .3, … in order', () => {
  const p = planNetwork('talos-default', { controlplanes: 2, workers: 1 });
  assert.equal(p.bridgeIp, '10.5.0.1');
  assert.equal(p.netns, 'talos-talos-default');
  assert.deepEqual(
    p.nodes.map((n) => [n.name, n.role, n.ip, n.netns, n.veth]),
    [
      ['talos-default-controlplane-1', 'controlplane', '10.5.0.2', 'talos-talos-default-controlplane-1', 'veth0'],
      ['talos-default-controlplane-2', 'controlplane', '10.5.0.3', 'talos-talos-default-controlplane-2', 'veth1'],
      ['talos-default-worker-1', 'worker', '10.5.0.4', 'talos-talos-default-worker-1', 'veth2'],
    ],
  );
  assert.equal(discoveryEndpoint(p), 'http://10.5.0.1:3000/');
});

test('planNetwork: a host address in --cidr is reduced to its network', () => {
  const p = planNetwork('c', { cidr: '172.20.9.77/16', controlplanes: 1, workers: 0 });
  assert.equal(p.cidr, '172.20.0.0/16');
  assert.equal(p.nodes[0]?.ip, '172.20.0.2');
});

test('planNetwork: rejects bad names, bad CIDRs, no control plane and networks too small', () => {
  const bad = (fn: () => unknown, re: RegExp): void => {
    assert.throws(fn, (e) => hasCode(e, Code.InvalidArgument) && re.test(e.message));
  };
  bad(() => planNetwork('Bad_Name', { controlplanes: 1, workers: 0 }), /invalid cluster name/);
  bad(() => planNetwork('c', { cidr: '10.5.0.0', controlplanes: 1, workers: 0 }), /invalid --cidr/);
  bad(() => planNetwork('c', { cidr: '10.5.0.300/24', controlplanes: 1, workers: 0 }), /invalid --cidr/);
  bad(() => planNetwork('c', { controlplanes: 0, workers: 1 }), /at least one control plane/);
  bad(() => planNetwork('c', { cidr: '10.5.0.0/30', controlplanes: 1, workers: 1 }), /room for 1 nodes, 2 requested/);
});

test('isClusterNetns: matches the cluster and its nodes, not a cluster whose name merely starts the same', () => {
  assert.ok(isClusterNetns('demo', 'talos-demo'));
  assert.ok(isClusterNetns('demo', 'talos-demo-worker-12'));
  assert.ok(!isClusterNetns('demo', 'talos-demo2'));
  assert.ok(!isClusterNetns('demo', 'talos-demo-x'));
  assert.ok(!isClusterNetns('demo', 'talos-demo-x-worker-1'));
});
