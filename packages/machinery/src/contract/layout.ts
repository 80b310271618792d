import { join } from 'node:path';
import { STATE_LOCK_FILE } from './files.ts';

/** Where a node keeps its files under its state directory (`--state-dir`; `/system/state` on metal). */
export interface NodePaths {
  readonly root: string;
  /** The applied machine config (STATE partition's config.yaml upstream). */
  readonly config: string;
  /** A config staged by apply-config --mode staged, applied at the next boot. */
  readonly stagedConfig: string;
  /** Where a staged config that failed validation at boot is kept aside for the operator. */
  readonly rejectedStagedConfig: string;
  /** machined's exclusive lock of the state directory (holds its PID). */
  readonly lock: string;
  /** machined's API for apid (gRPC over this unix socket). */
  readonly machinedSocket: string;
  readonly apiCertsDir: string;
  readonly trustdCertsDir: string;
  /** etcd's CA, server, peer and admin certificates (control plane). */
  readonly etcdCertsDir: string;
  /** etcd's data directory (/var/lib/etcd upstream). */
  readonly etcdDataDir: string;
  /** A snapshot uploaded with EtcdRecover, consumed by Bootstrap{recover_etcd}. */
  readonly etcdRecoverSnapshot: string;
  readonly logDir: string;
  /** /var on a real node: etcd data and friends. */
  readonly varDir: string;
  /** The node's cluster identity (upstream keeps it on STATE); a reset wipes it with system/. */
  readonly nodeIdentity: string;
  /** containerd's gRPC socket, state (runtime) and root (images, metadata) directories, and config. */
  readonly containerdSocket: string;
  readonly containerdStateDir: string;
  readonly containerdRootDir: string;
  readonly containerdConfig: string;
}

/** machined's socket relative to the state directory (apid is told the absolute path by flag). */
export const MACHINED_SOCKET_PATH = join('system', 'run', 'machined', 'machine.sock');

/** The layout of a node's state directory: pure path arithmetic, shared by every program that reads it. */
export function nodePaths(root: string): NodePaths {
  return {
    root,
    config: join(root, 'config.yaml'),
    stagedConfig: join(root, 'config.staged.yaml'),
    rejectedStagedConfig: join(root, 'config.staged.yaml.rejected'),
    lock: join(root, STATE_LOCK_FILE),
    machinedSocket: join(root, MACHINED_SOCKET_PATH),
    apiCertsDir: join(root, 'system', 'secrets', 'api'),
    trustdCertsDir: join(root, 'system', 'secrets', 'trustd'),
    etcdCertsDir: join(root, 'system', 'secrets', 'etcd'),
    etcdDataDir: join(root, 'var', 'lib', 'etcd'),
    etcdRecoverSnapshot: join(root, 'var', 'lib', 'etcd.snapshot'),
    logDir: join(root, 'var', 'log'),
    varDir: join(root, 'var'),
    nodeIdentity: join(root, 'system', 'state', 'node-identity.yaml'),
    containerdSocket: join(root, 'system', 'run', 'containerd', 'containerd.sock'),
    containerdStateDir: join(root, 'system', 'run', 'containerd'),
    containerdRootDir: join(root, 'var', 'lib', 'containerd'),
    containerdConfig: join(root, 'etc', 'containerd', 'config.toml'),
  };
}
