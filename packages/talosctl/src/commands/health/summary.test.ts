import { test } from 'node:test';
import assert from 'node:assert/strict';
import { healthSummary } from './health.ts';

const noKubelet = 'no kubelet runs on the nodes';

test('health summary: skipped Kubernetes checks are named once per reason and the verdict does not call the cluster healthy', () => {
  const s = healthSummary([
    { description: 'etcd to be healthy', outcome: { kind: 'ok' } },
    { description: 'kubelet to be healthy', outcome: { kind: 'unavailable', reason: noKubelet } },
    { description: 'all k8s nodes to report', outcome: { kind: 'unavailable', reason: noKubelet } },
  ]);
  assert.deepEqual(s.lines, ['checks passed (1): etcd to be healthy', `checks skipped (2): kubelet to be healthy, all k8s nodes to report: ${noKubelet}`]);
  assert.equal(s.healthy, true);
  assert.equal(s.verdict, 'Talos is healthy (apid, services, etcd); Kubernetes was not checked');
});

test('health summary: a failed check is listed with its reason; with Kubernetes checked and passing the cluster is healthy', () => {
  const failed = healthSummary([
    { description: 'etcd to be healthy', outcome: { kind: 'fail', reason: '10.5.0.2: no reply' } },
    { description: 'kubelet to be healthy', outcome: { kind: 'ok' } },
  ]);
  assert.deepEqual(failed.lines, ['checks passed (1): kubelet to be healthy', 'checks failed (1): etcd to be healthy (10.5.0.2: no reply)']);
  assert.equal(failed.verdict, 'cluster is not healthy');
  const all = healthSummary([
    { description: 'etcd to be healthy', outcome: { kind: 'ok' } },
    { description: 'kubelet to be healthy', outcome: { kind: 'ok' } },
  ]);
  assert.equal(all.verdict, 'cluster is healthy');
});
