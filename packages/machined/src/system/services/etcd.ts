import type { Logger } from '@talos-ts/cosi';
import type { EtcdSpecSpec, NodePaths } from '@talos-ts/machinery';
import { EtcdManager } from '../../etcd/etcd.ts';
import type { ControlPlanePeerSource } from '../../etcd/peers.ts';
import type { ServiceSupervisor } from '../supervisor.ts';

/** What the etcd member of a control plane needs. */
export interface EtcdServiceOptions {
  /** The member's name and addresses (the EtcdSpec resource), undefined until it exists. */
  readonly spec: () => EtcdSpecSpec | undefined;
  readonly paths: NodePaths;
  readonly peers: ControlPlanePeerSource;
  readonly supervisor: () => ServiceSupervisor | undefined;
  readonly logger: Logger;
  readonly etcdPath?: string;
  readonly etcdctlPath?: string;
}

/**
 * The local etcd member (control planes): the manager behind the etcd service and the etcd API
 * calls; its `definition()` is the supervised service.
 */
export function etcdMember(o: EtcdServiceOptions): EtcdManager {
  return new EtcdManager({
    spec: o.spec,
    certsDir: o.paths.etcdCertsDir,
    dataDir: o.paths.etcdDataDir,
    recoverSnapshotPath: o.paths.etcdRecoverSnapshot,
    peers: o.peers,
    supervisor: o.supervisor,
    logger: o.logger,
    ...(o.etcdPath !== undefined ? { etcdPath: o.etcdPath } : {}),
    ...(o.etcdctlPath !== undefined ? { etcdctlPath: o.etcdctlPath } : {}),
  });
}
