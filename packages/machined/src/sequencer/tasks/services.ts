import { EtcdSpecId, EtcdSpecType, machinePb, NamespaceName, NodeAddressId, NodeAddressType, nodeIps, type EtcdSpecSpec, type NodeAddressSpec } from '@talos-ts/machinery';
import { createStatePeerSource } from '../../etcd/peers.ts';
import { machineEvents } from '../../events/machine-events.ts';
import { allOf, networkReady, type NetworkCheck } from '../../system/network-ready.ts';
import type { ServiceDefinition } from '../../system/service.ts';
import { apidService } from '../../system/services/apid.ts';
import { containerdService } from '../../system/services/containerd.ts';
import { etcdMember } from '../../system/services/etcd.ts';
import { trustdService } from '../../system/services/trustd.ts';
import { ServiceSupervisor } from '../../system/supervisor.ts';
import { task, type Task } from '../phases.ts';
import type { Cycle, MachineRuntime } from '../runtime.ts';

const Stage = machinePb.MachineStatusEvent_MachineStage;

/**
 * Starts the system services the config asks for under a new supervisor: apid everywhere; trustd
 * and etcd on control planes; containerd when the node runs it. The machine is then RUNNING.
 */
export const startAllServices: Task<MachineRuntime> = task('startAllServices', ({ runtime: r }) => {
  const cycle = r.current();
  const supervisor = new ServiceSupervisor({
    state: cycle.state,
    logger: r.logger,
    logDir: r.paths.logDir,
    ...(r.options.restartIntervalMs !== undefined ? { restartIntervalMs: r.options.restartIntervalMs } : {}),
    onEvent: (id, e) => r.events.publish('machine.ServiceStateEvent', machineEvents.serviceState(id, e.state, e.message)),
  });
  cycle.supervisor = supervisor;
  supervisor.loadAndStart(...networkGated(r, cycle, serviceDefinitions(r, cycle)));
  r.events.publish('machine.MachineStatusEvent', machineEvents.machineStatus(Stage.RUNNING, true));
});

/** The node's service catalogue for this cycle's config. */
function serviceDefinitions(r: MachineRuntime, cycle: Cycle): ServiceDefinition[] {
  const o = r.options;
  const address = o.address;
  const controlPlane = ['controlplane', 'init'].includes(cycle.config?.config.config.machine?.type ?? '');
  const common = { address, paths: r.paths, ...(o.nodeFlags ? { nodeFlags: o.nodeFlags } : {}) };
  // A node that owns its namespace serves the API on all its addresses, as upstream's apid does:
  // the shared VIP too, once this node holds it.
  const listen = o.ownsNetwork ? { listenHost: '0.0.0.0' } : {};
  const services: ServiceDefinition[] = [apidService({ ...common, ...listen, ...(o.apidCommand ? { command: o.apidCommand } : {}), ...(o.prestartApid ? { prestart: true } : {}) })];
  if (controlPlane) services.push(trustdService({ ...common, controlPlane, ...(o.trustdCommand ? { command: o.trustdCommand } : {}) }));
  if (o.containerd) services.push(containerdService(o.containerd));
  if (!controlPlane) return services;
  // The node's own addresses are no peer to join through: the one it was given, and those it has.
  const self = (): string[] => {
    const current = cycle.state.find<NodeAddressSpec>({ namespace: NamespaceName.network, type: NodeAddressType, id: NodeAddressId.current });
    return [address, ...(current ? nodeIps(current.spec) : [])];
  };
  cycle.etcd = etcdMember({
    spec: () => cycle.state.find<EtcdSpecSpec>({ namespace: NamespaceName.etcd, type: EtcdSpecType, id: EtcdSpecId })?.spec,
    paths: r.paths,
    peers: o.etcdPeers ?? createStatePeerSource({ state: () => (r.cycle === cycle ? cycle.state : undefined), self }),
    supervisor: () => cycle.supervisor,
    logger: r.logger.child({ component: 'etcd' }),
    ...(o.etcdPath !== undefined ? { etcdPath: o.etcdPath } : {}),
    ...(o.etcdctlPath !== undefined ? { etcdctlPath: o.etcdctlPath } : {}),
  });
  return [...services, cycle.etcd.definition()];
}


/** What each service waits for on the network before it starts, as upstream's services. */
const NETWORK_NEEDS: Readonly<Record<string, readonly NetworkCheck[]>> = {
  trustd: ['address', 'hostname'],
  etcd: ['address', 'hostname', 'etcFiles'],
  containerd: ['address', 'hostname', 'etcFiles'],
};

/**
 * Adds the NetworkStatus conditions where machined runs the network (metal, or a node that owns its
 * namespace); a container node on a network it does not own has nothing to wait for.
 */
function networkGated(r: MachineRuntime, cycle: Cycle, services: ServiceDefinition[]): ServiceDefinition[] {
  if (r.options.platform !== 'metal' && !r.options.ownsNetwork) return services;
  return services.map((s) => {
    const needs = NETWORK_NEEDS[s.id];
    if (!needs) return s;
    const network = networkReady(cycle.state, needs);
    return { ...s, condition: s.condition ? allOf(network, s.condition) : network };
  });
}
