// A real node for the fuzz and chaos suites: machined (which starts apid, trustd and etcd) on a
// loopback address with a fresh state directory, its secrets, mTLS clients of every role, and
// the process facts the oracles need (alive, pids, RSS), plus kill -9 and restart.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  TALOS_API_PORT,
  createTalosClient,
  generateClientCertificate,
  generateMachineConfigs,
  generateSecretsBundle,
  machinePb,
  privateKeyFromPem,
  privateKeyToPkcs8Pem,
  toConfigSecrets,
  type SecretsBundle,
  type TalosClient,
} from '@talos-ts/machinery';
import { processesUsing, tempDir, waitFor, waitForPort, type NodeProcess } from './nodes.ts';

/** Options of {@link startFuzzNode}. */
export interface FuzzNodeOptions {
  /** Loopback address of the node (one per node; 127.0.0.x). */
  readonly address: string;
  /** Apply the generated control-plane config (else the node stays in maintenance mode). */
  readonly configured: boolean;
  /**
   * V8 heap cap of machined and its children (MB). A small cap turns an unbounded allocation
   * into a quick crash the oracle sees, instead of minutes of swapping on a shared machine.
   */
  readonly maxOldSpaceMb?: number;
  /** Bound on reaching the API (default 60 s). */
  readonly readyTimeoutMs?: number;
}

/** Resident memory of a node's processes, in bytes (0 when a process is not running). */
export interface NodeRss {
  readonly machined: number;
  readonly apid: number;
  readonly trustd: number;
}

/** A node under attack. */
export interface FuzzNode extends AsyncDisposable {
  readonly address: string;
  /** The state directory (config.yaml, system/…). */
  readonly stateDir: string;
  readonly bundle: SecretsBundle;
  /** The generated control-plane config (the base of config mutations). */
  readonly baseConfig: string;
  readonly admin: TalosClient;
  readonly reader: TalosClient;
  /** Client certificate material by role, for raw clients. */
  readonly certs: { readonly caPem: string; readonly admin: { crt: string; key: string }; readonly reader: { crt: string; key: string } };
  /** The machined process as started last. */
  readonly process: NodeProcess;
  /** machined has not exited. */
  alive(): boolean;
  /** How machined exited (or undefined while it runs). */
  exit(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
  rss(): NodeRss;
  /** SIGKILL machined and every process it started (as a power cut would). */
  kill9(): void;
  /**
   * Starts machined again on the same state directory (after kill9 or a crash); with
   * `waitForApi: false` it returns at once (a node that rightly refuses to boot opens no port).
   */
  restart(options?: { waitForApi?: boolean }): Promise<void>;
  /** Version over mTLS as os:reader (the `talosctl version` probe); resolves to latency or rejects. */
  probe(timeoutMs: number): Promise<number>;
  /** True when the node answers an unauthenticated (maintenance) Version. */
  inMaintenance(timeoutMs?: number): Promise<boolean>;
  /** machined's log so far (for post-mortems and crash-loop checks). */
  log(): string;
}

const CP_ROLES = { admin: ['os:admin'], reader: ['os:reader'] } as const;

function rssOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function pkcs8(p: { crt: string; key: string }): { crt: string; key: string } {
  return { crt: p.crt, key: privateKeyToPkcs8Pem(privateKeyFromPem(p.key)) };
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

const machinedBin = new URL('../../../machined/bin/machined.js', import.meta.url).pathname;

/**
 * Like startNode, with a caller-chosen bound on the API port coming up: a node restarted under
 * attack on two shared cores can take far longer than a quiet one. Its log is appended to
 * `<stateDir>.log` across restarts. Stopping it kills it (the chaos suites do not test shutdown).
 */
async function spawnMachined(address: string, stateDir: string, env: Record<string, string> | undefined, readyMs: number): Promise<NodeProcess> {
  const log = createWriteStream(`${stateDir}.log`, { flags: 'a' });
  const child = spawn(process.execPath, [machinedBin, '--platform', 'container', '--state-dir', stateDir, '--address', address], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(env ? { env: { ...process.env, ...env } } : {}),
  });
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000).unref())]);
    for (const pid of processesUsing(stateDir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    log.end();
  };
  try {
    if (readyMs > 0) await waitForPort(address, TALOS_API_PORT, readyMs);
  } catch (err) {
    await stop();
    throw err;
  }
  return { address, dir: stateDir, child, stop };
}

/** Starts a node for fuzzing; dispose it to stop every process and remove its files. */
export async function startFuzzNode(options: FuzzNodeOptions): Promise<FuzzNode> {
  const tmp = tempDir('fuzz-node-');
  const stateDir = join(tmp.dir, 'state');
  const address = options.address;
  const bundle = await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' });
  const g = generateMachineConfigs({ clusterName: 'fuzz', endpoint: `https://${address}:6443`, withClusterDiscovery: false, secrets: toConfigSecrets(bundle) });
  const baseConfig = g.controlplane.toYaml();
  const adminPair = await generateClientCertificate({ osCa: bundle.certs.os, roles: [...CP_ROLES.admin], validitySeconds: 86_400 });
  const readerPair = await generateClientCertificate({ osCa: bundle.certs.os, roles: [...CP_ROLES.reader], validitySeconds: 86_400 });
  const client = (p: { crt: string; key: string }): TalosClient =>
    createTalosClient({ endpoints: [address], caPem: bundle.certs.os.crt, crtPem: p.crt, keyPem: p.key, maxAttempts: 1 });
  const admin = client(adminPair);
  const reader = client(readerPair);
  const env = options.maxOldSpaceMb ? { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-old-space-size=${options.maxOldSpaceMb}`.trim() } : undefined;
  const readyMs = options.readyTimeoutMs ?? 90_000;

  let proc: NodeProcess = await spawnMachined(address, stateDir, env, readyMs);
  const probe = async (timeoutMs: number): Promise<number> => {
    const t0 = performance.now();
    await reader.machine.version({}, { timeoutMs });
    return performance.now() - t0;
  };
  const inMaintenance = async (timeoutMs = 3000): Promise<boolean> => {
    const insecure = createTalosClient({ endpoints: [address], insecure: true, maxAttempts: 1 });
    try {
      await insecure.machine.version({}, { timeoutMs });
      return true;
    } catch {
      return false;
    } finally {
      insecure.close();
    }
  };
  const waitReady = async (): Promise<void> => {
    if (existsSync(join(stateDir, 'config.yaml'))) await waitFor(`mTLS Version on ${address}`, async () => (await probe(2000), true), readyMs);
  };

  if (options.configured) {
    const insecure = createTalosClient({ endpoints: [address], insecure: true, maxAttempts: 1 });
    try {
      await insecure.machine.applyConfiguration({ data: Buffer.from(baseConfig), mode: machinePb.ApplyConfigurationRequest_Mode.AUTO }, { timeoutMs: 20_000 });
    } finally {
      insecure.close();
    }
    await waitReady();
  }

  const descendants = (): number[] => processesUsing(stateDir);
  const node: FuzzNode = {
    address,
    stateDir,
    bundle,
    baseConfig,
    admin,
    reader,
    // node:tls reads PKCS#8; the generated keys come in their type's own PEM form.
    certs: { caPem: bundle.certs.os.crt, admin: pkcs8(adminPair), reader: pkcs8(readerPair) },
    get process() {
      return proc;
    },
    alive: () => proc.child.exitCode === null && proc.child.signalCode === null,
    exit: () => (proc.child.exitCode === null && proc.child.signalCode === null ? undefined : { code: proc.child.exitCode, signal: proc.child.signalCode }),
    rss: () => {
      const kids = descendants();
      const find = (name: string): number | undefined => kids.find((p) => new RegExp(`/${name}(\\.js|\\.cjs)? `).test(cmdline(p)));
      return { machined: rssOf(proc.child.pid), apid: rssOf(find('apid')), trustd: rssOf(find('trustd')) };
    },
    kill9: () => {
      for (const pid of [proc.child.pid, ...descendants()]) {
        try {
          if (pid !== undefined) process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    },
    restart: async (o = {}) => {
      node.kill9();
      await proc.stop();
      proc = await spawnMachined(address, stateDir, env, o.waitForApi === false ? 0 : readyMs);
    },
    probe,
    inMaintenance,
    log: () => {
      try {
        return readFileSync(`${stateDir}.log`, 'utf8');
      } catch {
        return '';
      }
    },
    [Symbol.asyncDispose]: async () => {
      admin.close();
      reader.close();
      // Under attack machined may not handle SIGTERM soon; the fuzz suites do not test shutdown.
      node.kill9();
      await proc.stop();
      // A child machined spawned between the snapshot of its children and its own death escapes
      // the first round, and a killed process lingers until it is reaped: bounded rounds again.
      let left = descendants();
      for (let i = 0; i < 50 && left.length > 0; i++) {
        node.kill9();
        await new Promise((r) => setTimeout(r, 100));
        left = descendants();
      }
      // FUZZ_KEEP=1 keeps the state directory and machined's log for a post-mortem.
      if (process.env.FUZZ_KEEP) process.stderr.write(`fuzz: kept ${tmp.dir}\n`);
      else tmp.remove();
      if (left.length > 0) throw new Error(`processes left behind under ${stateDir}: ${left.join(', ')}`);
    },
  };
  return node;
}

/** Lists files under a state dir (for post-mortems of fault runs). */
export function listStateFiles(stateDir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), `${rel}${e.name}/`);
      else out.push(`${rel}${e.name}`);
    }
  };
  if (existsSync(stateDir)) walk(stateDir, '');
  return out;
}

/** Removes a path if present (fault injection helpers share it). */
export function removePath(path: string): void {
  rmSync(path, { recursive: true, force: true });
}

/** What a second machined on an occupied state directory did. */
export interface SecondInstance {
  /** It exited by itself within the bound (as a state-directory lock makes it). */
  readonly exited: boolean;
  readonly code: number | null;
  readonly output: string;
}

/**
 * Starts another machined on a state directory already in use (on another loopback address so
 * ports do not decide the outcome), waits up to `timeoutMs` for it to give up, then kills it.
 */
export async function startSecondMachined(stateDir: string, address: string, timeoutMs: number): Promise<SecondInstance> {
  const child = spawn(process.execPath, [machinedBin, '--platform', 'container', '--state-dir', stateDir, '--address', address], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (b: Buffer) => (output = (output + b.toString()).slice(-4000)));
  child.stderr.on('data', (b: Buffer) => (output = (output + b.toString()).slice(-4000)));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const code = await Promise.race([exited, new Promise<'running'>((r) => setTimeout(() => r('running'), timeoutMs).unref())]);
  if (code === 'running') {
    child.kill('SIGKILL');
    await exited;
    // Whatever it started (apid, trustd, etcd) names its own address in its command line.
    for (const pid of processesUsing(address)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    return { exited: false, code: null, output };
  }
  return { exited: true, code, output };
}
