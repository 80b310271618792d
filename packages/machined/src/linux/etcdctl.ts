import { execFile } from 'node:child_process';
import { Code, TalosError } from '@talos-ts/cosi';

/** Options of {@link restoreEtcdSnapshot}. */
export interface RestoreEtcdSnapshotOptions {
  /** etcdctl to run (Debian's 3.4 restores with `etcdctl snapshot restore`). */
  readonly etcdctlPath: string;
  readonly snapshotPath: string;
  /** Must not exist yet; etcdctl creates it. */
  readonly dataDir: string;
  readonly name: string;
  readonly peerUrl: string;
  /** Accept a snapshot without etcd's trailing SHA-256 (a copied db file). */
  readonly skipHashCheck: boolean;
  readonly signal?: AbortSignal;
}

/** Turns a snapshot into a fresh single-member data directory, as the first member of a new cluster. */
export function restoreEtcdSnapshot(options: RestoreEtcdSnapshotOptions): Promise<void> {
  const args = [
    'snapshot',
    'restore',
    options.snapshotPath,
    '--data-dir',
    options.dataDir,
    '--name',
    options.name,
    '--initial-cluster',
    `${options.name}=${options.peerUrl}`,
    '--initial-advertise-peer-urls',
    options.peerUrl,
    ...(options.skipHashCheck ? ['--skip-hash-check'] : []),
  ];
  return new Promise((resolve, reject) => {
    execFile(
      options.etcdctlPath,
      args,
      { env: { ...process.env, ETCDCTL_API: '3' }, timeout: 120_000, ...(options.signal ? { signal: options.signal } : {}) },
      (err, _stdout, stderr) => {
        if (err) reject(new TalosError(Code.Internal, `etcd snapshot restore failed: ${String(stderr).trim() || err.message}`, { cause: err }));
        else resolve();
      },
    );
  });
}
