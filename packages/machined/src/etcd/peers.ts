import type { State } from '@talos-ts/cosi';
import { ActiveMachineConfigId, MachineConfigType, MemberType, NamespaceName, type MachineConfigSpec, type MemberSpec } from '@talos-ts/machinery';
import { machineConfigOf } from '../controllers/config/parse.ts';

/**
 * Yields addresses (IP or host name, no port) of control-plane nodes that may already run an etcd
 * member. Joining tries each; the order is the preference.
 */
export type ControlPlanePeerSource = (signal: AbortSignal) => Promise<readonly string[]>;

/** Options of {@link createStatePeerSource}. */
export interface StatePeerSourceOptions {
  /** The current state (it changes on every boot cycle); undefined while the node is down. */
  readonly state: () => State | undefined;
  /** This node's own addresses, left out of the answer (read at each call: they change). */
  readonly self: () => readonly string[];
}

/**
 * Peers from the node's own resources: control-plane `Members.cluster.talos.dev` from discovery,
 * then the host of `cluster.controlPlane.endpoint` (which reaches some
 * control-plane node in any cluster, so a second control plane finds the first without discovery).
 */
export function createStatePeerSource(options: StatePeerSourceOptions): ControlPlanePeerSource {
  return async () => {
    const state = options.state();
    if (!state) return [];
    const out: string[] = [];
    for (const m of state.list<MemberSpec>({ namespace: NamespaceName.cluster, type: MemberType })) {
      if (m.spec.machineType !== 'controlplane' && m.spec.machineType !== 'init') continue;
      for (const a of m.spec.addresses) out.push(a.replace(/\/\d+$/, ''));
    }
    const cfg = state.find<MachineConfigSpec>({ namespace: NamespaceName.config, type: MachineConfigType, id: ActiveMachineConfigId });
    const endpoint = cfg ? machineConfigOf(cfg).config.cluster?.controlPlane?.endpoint : undefined;
    if (endpoint) {
      try {
        out.push(new URL(endpoint).hostname.replace(/^\[|\]$/g, ''));
      } catch {
        // an invalid endpoint was rejected by validation already
      }
    }
    const self = new Set(options.self());
    return [...new Set(out)].filter((a) => a !== '' && !self.has(a));
  };
}
