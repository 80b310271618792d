import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemoryState, Runtime } from '@talos-ts/cosi';
import {
  ActiveMachineConfigId,
  FirstHardwareAddrId,
  HardwareAddrType,
  KubeSpanIdentityType,
  KubeSpanLocalIdentityId,
  LinkStatusType,
  NamespaceName,
  applyPatches,
  generateMachineConfigs,
  generateSecretsBundle,
  loadConfig,
  newLinkStatus,
  newMachineConfig,
  nodePaths,
  parsePatch,
  registerTalosResources,
  toConfigSecrets,
  type HardwareAddrSpec,
  type KubeSpanIdentitySpec,
  type LinkStatusSpec,
} from '@talos-ts/machinery';
import { assertResources } from '@talos-ts/testkit';
import { lazyWireGuardLink } from '../linux/kubespan-host.ts';
import { kubeSpanAddress } from './kubespan/address.ts';
import { registerControllers, type ControllerOptions } from './register.ts';

const bundle = await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' });
function configYaml(patch: string): { yaml: string; clusterId: string } {
  const g = generateMachineConfigs({ clusterName: 'wire', endpoint: 'https://127.0.27.1:6443', secrets: toConfigSecrets(bundle) });
  const loaded = loadConfig(g.worker.toYaml(), { filename: 'worker' });
  const p = parsePatch(patch, { name: 'patch' });
  if (loaded.error || p.error) throw loaded.error ?? p.error;
  const out = applyPatches(loaded.value, [p.value]);
  if (out.error) throw out.error;
  return { yaml: out.value.toYaml(), clusterId: out.value.config.cluster?.id ?? '' };
}

function link(index: number, mac: string, over: Partial<LinkStatusSpec> = {}): LinkStatusSpec {
  return {
    index,
    type: 'ether',
    linkIndex: 0,
    flags: 'UP',
    hardwareAddr: mac,
    broadcastAddr: 'ff:ff:ff:ff:ff:ff',
    mtu: 1500,
    queueDisc: 'fq_codel',
    operationalState: 'up',
    kind: '',
    slaveKind: '',
    linkState: true,
    ...over,
  };
}

function node(t: { after: (fn: () => void) => void }, extra: Partial<ControllerOptions> = {}): Runtime {
  const root = mkdtempSync(join(tmpdir(), 'twire-node-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const state = new InMemoryState();
  registerTalosResources(state);
  const runtime = new Runtime(state);
  registerControllers(runtime, { platform: 'container', address: '127.0.27.1', paths: nodePaths(root), network: { defaultHostname: 'talos-wire' }, ...extra });
  return runtime;
}

test('a node with KubeSpan enabled gets a KubeSpanIdentity from the first physical link by name; the manager runs only with a link', async (t) => {
  const runtime = node(t);
  const names = runtime.controllers.map((c) => c.name);
  for (const n of ['network.HardwareAddrController', 'kubespan.ConfigController', 'kubespan.IdentityController', 'kubespan.PeerSpecController', 'kubespan.EndpointController']) {
    assert.ok(names.includes(n), `${n} registered`);
  }
  assert.ok(!names.includes('kubespan.ManagerController'), 'no manager without a WireGuard link (container mode)');

  const abort = new AbortController();
  const done = runtime.run(abort.signal);
  t.after(async () => {
    abort.abort();
    await done;
  });
  const { state } = runtime;
  // What LinkStatusController publishes; bond0 and veth0 are not physical, eth0 sorts before eth1.
  state.create(newLinkStatus('lo', link(1, '00:00:00:00:00:00', { type: 'loopback', operationalState: 'unknown' })));
  state.create(newLinkStatus('bond0', link(2, '52:54:00:00:00:0b', { kind: 'bond' })));
  state.create(newLinkStatus('eth1', link(3, '52:54:00:00:00:e1')));
  state.create(newLinkStatus('eth0', link(4, '52:54:00:00:00:e0')));
  state.create(newLinkStatus('veth0', link(5, '52:54:00:00:00:0e', { kind: 'veth' })));
  const hw = { namespace: NamespaceName.network, type: HardwareAddrType };
  await assertResources<HardwareAddrSpec>(state, hw, { ids: [FirstHardwareAddrId], check: (r) => assert.deepEqual(r.spec, { name: 'eth0', hardwareAddr: '52:54:00:00:00:e0' }) });

  const { yaml, clusterId } = configYaml('machine:\n  network:\n    kubespan:\n      enabled: true\ncluster:\n  discovery:\n    enabled: false\n');
  assert.ok(clusterId.length > 0);
  state.create(newMachineConfig(ActiveMachineConfigId, { yaml }));
  await assertResources<KubeSpanIdentitySpec>(state, { namespace: NamespaceName.kubespan, type: KubeSpanIdentityType }, {
    ids: [KubeSpanLocalIdentityId],
    check: (r) => assert.deepEqual({ address: r.spec.address, subnet: r.spec.subnet }, kubeSpanAddress(clusterId, '52:54:00:00:00:e0')),
  });

  // eth0 goes away: the next physical link by name takes over.
  state.destroy({ namespace: NamespaceName.network, type: LinkStatusType, id: 'eth0' });
  await assertResources<HardwareAddrSpec>(state, hw, { ids: [FirstHardwareAddrId], check: (r) => assert.equal(r.spec.name, 'eth1') });

  const owned = node(t, { kubespan: { link: lazyWireGuardLink() } });
  assert.ok(owned.controllers.some((c) => c.name === 'kubespan.ManagerController'), 'the manager runs where machined owns the network');
});
