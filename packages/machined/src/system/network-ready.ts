import type { InMemoryState } from '@talos-ts/cosi';
import { NamespaceName, NetworkStatusId, NetworkStatusType, type NetworkStatusSpec } from '@talos-ts/machinery';
import type { ServiceCondition } from './service.ts';

/** The NetworkStatus checks a service may wait for (upstream's network.StatusCheck). */
export type NetworkCheck = 'address' | 'connectivity' | 'hostname' | 'etcFiles';

const field: Record<NetworkCheck, keyof NetworkStatusSpec> = {
  address: 'addressReady',
  connectivity: 'connectivityReady',
  hostname: 'hostnameReady',
  etcFiles: 'etcFilesReady',
};

const label: Record<NetworkCheck, string> = { address: 'address', connectivity: 'connectivity', hostname: 'hostname', etcFiles: 'etc files' };

/**
 * Satisfied once NetworkStatus reports every check ready (upstream's network.NewReadyCondition):
 * services that need the network (trustd, etcd, containerd) wait for it.
 */
export function networkReady(state: InMemoryState, checks: readonly NetworkCheck[]): ServiceCondition {
  const pointer = { namespace: NamespaceName.network, type: NetworkStatusType, id: NetworkStatusId };
  const ready = (): boolean => {
    const status = state.find<NetworkStatusSpec>(pointer)?.spec;
    return status !== undefined && checks.every((c) => status[field[c]]);
  };
  return {
    description: `network: ${checks.map((c) => label[c]).join(', ')}`,
    async wait(signal) {
      using watch = disposable(state.watch(pointer, { signal }));
      for (;;) {
        if (ready()) return;
        if (signal.aborted) throw signal.reason ?? new Error('aborted');
        const next = await watch.w.next();
        if (next.done) throw signal.reason ?? new Error('aborted');
      }
    },
  };
}

/** Every condition, in turn. */
export function allOf(...conditions: readonly ServiceCondition[]): ServiceCondition {
  return {
    description: conditions.map((c) => c.description).join(' and '),
    async wait(signal) {
      for (const c of conditions) await c.wait(signal);
    },
  };
}

function disposable<W extends { close(): void }>(w: W): { w: W } & Disposable {
  return { w, [Symbol.dispose]: () => w.close() };
}
