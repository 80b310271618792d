import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitForPort } from './nodes.ts';

/** PEM files one etcd member serves with: the CA, its server pair and its peer pair. */
export interface EtcdMemberCerts {
  readonly ca: string;
  readonly server: { readonly crt: string; readonly key: string };
  readonly peer: { readonly crt: string; readonly key: string };
}

/** One member of a test etcd cluster: the real etcd binary on `address:2379/2380`. */
export interface EtcdTestMember {
  readonly name: string;
  readonly address: string;
  /** `address:2379`, as EtcdClient takes endpoints. */
  readonly clientEndpoint: string;
  /** Kills the process (SIGKILL: a node that vanished); its data directory stays. */
  kill(): Promise<void>;
  /** Starts it again from its data directory; resolves once its client port accepts connections. */
  restart(): Promise<void>;
  readonly running: boolean;
}

/** A running test etcd cluster; dispose it to kill every member and remove the data. */
export interface EtcdTestCluster extends AsyncDisposable {
  readonly members: readonly EtcdTestMember[];
}

/** Options of {@link startEtcdCluster}. */
export interface StartEtcdClusterOptions {
  /** One member per loopback address (use only the addresses your test owns). */
  readonly addresses: readonly string[];
  /** Issues a member's certificates (the caller owns the CA, so it can make client pairs too). */
  readonly certs: (member: { name: string; address: string }) => Promise<EtcdMemberCerts>;
  /** Member names; default `<prefix>-<n>`. */
  readonly namePrefix?: string;
  readonly etcdPath?: string;
}

/**
 * Starts a real etcd cluster (Debian's etcd) with mutual TLS on clients and peers, one member per
 * address on the standard ports, all bootstrapped together as `new`. Resolves once every member's
 * client port accepts connections (the caller waits for a leader through its own client).
 */
export async function startEtcdCluster(options: StartEtcdClusterOptions): Promise<EtcdTestCluster> {
  const root = mkdtempSync(join(tmpdir(), 'talos-etcd-cluster-'));
  const prefix = options.namePrefix ?? 'etcd';
  const specs = options.addresses.map((address, i) => ({ name: `${prefix}-${i + 1}`, address }));
  const initialCluster = specs.map((s) => `${s.name}=https://${s.address}:2380`).join(',');
  const members: (EtcdTestMember & { stopNow(): Promise<void> })[] = [];
  const procs = new Set<ChildProcess>();
  // A test process that ends without disposing the cluster (a crash, a runner timeout) takes its
  // etcd processes with it instead of leaving them bound to the test's addresses.
  const onExit = (): void => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  };
  process.once('exit', onExit);
  try {
    for (const s of specs) {
      const dir = join(root, s.name);
      mkdirSync(dir, { recursive: true });
      const c = await options.certs(s);
      for (const [f, pem] of [['ca.crt', c.ca], ['server.crt', c.server.crt], ['server.key', c.server.key], ['peer.crt', c.peer.crt], ['peer.key', c.peer.key]] as const) {
        writeFileSync(join(dir, f), pem, { mode: 0o600 });
      }
      const argv = [
        `--name=${s.name}`,
        `--data-dir=${join(dir, 'data')}`,
        `--listen-client-urls=https://${s.address}:2379`,
        `--advertise-client-urls=https://${s.address}:2379`,
        `--listen-peer-urls=https://${s.address}:2380`,
        `--initial-advertise-peer-urls=https://${s.address}:2380`,
        `--initial-cluster=${initialCluster}`,
        '--initial-cluster-state=new',
        `--trusted-ca-file=${join(dir, 'ca.crt')}`,
        `--cert-file=${join(dir, 'server.crt')}`,
        `--key-file=${join(dir, 'server.key')}`,
        '--client-cert-auth=true',
        `--peer-trusted-ca-file=${join(dir, 'ca.crt')}`,
        `--peer-cert-file=${join(dir, 'peer.crt')}`,
        `--peer-key-file=${join(dir, 'peer.key')}`,
        '--peer-client-cert-auth=true',
        '--logger=zap',
        '--log-outputs=stderr',
      ];
      let proc: ChildProcess | undefined;
      const launch = (): void => {
        // Each run appends its log beside the data (kept while the cluster runs, for debugging).
        const log = openSync(join(dir, 'etcd.log'), 'a');
        const p = spawn(options.etcdPath ?? 'etcd', argv, { stdio: ['ignore', 'ignore', log] });
        closeSync(log);
        procs.add(p);
        p.once('exit', () => procs.delete(p));
        proc = p;
      };
      const stopNow = async (): Promise<void> => {
        const p = proc;
        if (!p || p.exitCode !== null || p.signalCode !== null) return;
        const exited = new Promise((r) => p.once('exit', r));
        p.kill('SIGKILL');
        await exited;
      };
      launch();
      members.push({
        name: s.name,
        address: s.address,
        clientEndpoint: `${s.address}:2379`,
        get running() {
          return proc !== undefined && proc.exitCode === null && proc.signalCode === null;
        },
        kill: stopNow,
        async restart() {
          await stopNow();
          launch();
          await waitForPort(s.address, 2379, 20_000);
        },
        stopNow,
      });
    }
    await Promise.all(specs.map((s) => waitForPort(s.address, 2379, 20_000)));
  } catch (err) {
    await Promise.all(members.map((m) => m.stopNow()));
    process.removeListener('exit', onExit);
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
  const dispose = async (): Promise<void> => {
    await Promise.all(members.map((m) => m.stopNow()));
    process.removeListener('exit', onExit);
    rmSync(root, { recursive: true, force: true });
  };
  return { members, [Symbol.asyncDispose]: dispose };
}
