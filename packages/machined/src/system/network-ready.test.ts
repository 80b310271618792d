import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InMemoryState } from '@talos-ts/cosi';
import { NamespaceName, NetworkStatusId, NetworkStatusType, newNetworkStatus, registerTalosResources, type NetworkStatusSpec } from '@talos-ts/machinery';
import { allOf, networkReady } from './network-ready.ts';

const notReady: NetworkStatusSpec = { addressReady: false, connectivityReady: false, hostnameReady: false, etcFilesReady: false };

function setStatus(state: InMemoryState, spec: NetworkStatusSpec): void {
  state.modify<NetworkStatusSpec>({ namespace: NamespaceName.network, type: NetworkStatusType, id: NetworkStatusId }, (d) => {
    d.spec = spec;
  }, { initial: spec });
}

test('a service waiting for address and hostname starts once NetworkStatus has both, not before', async () => {
  const state = new InMemoryState();
  registerTalosResources(state);
  const condition = networkReady(state, ['address', 'hostname']);
  assert.equal(condition.description, 'network: address, hostname');
  let done = false;
  const waiting = condition.wait(AbortSignal.timeout(10_000)).then(() => (done = true));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(done, false, 'no NetworkStatus yet');
  setStatus(state, { ...notReady, addressReady: true });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(done, false, 'address alone is not enough');
  setStatus(state, { ...notReady, addressReady: true, hostnameReady: true });
  await waiting;
  assert.equal(done, true);
});

test('a network wait ends when its signal aborts; allOf waits for every condition', async () => {
  const state = new InMemoryState();
  registerTalosResources(state);
  state.create(newNetworkStatus(notReady));
  const abort = new AbortController();
  const waiting = allOf(networkReady(state, ['etcFiles']), networkReady(state, ['address'])).wait(abort.signal);
  abort.abort(new Error('stopped'));
  await assert.rejects(waiting, /stopped/);
});
