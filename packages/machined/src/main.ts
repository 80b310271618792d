import { parseArgs } from 'node:util';
import { isIP } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { createLogger, type LogLevel } from '@talos-ts/cosi';
import { mkdirSync, writeFileSync, writeSync } from 'node:fs';
import { TalosNode } from './node.ts';
import { wipeSystemVolume } from './linux/system-disk.ts';
import { bootUptimeSeconds, FATAL_REBOOT_DELAY_MS, METAL_CONTAINERD_SOCKET, METAL_STATE_DIR, startMetal, type MetalHost } from './platform/metal.ts';
import { TALOS_API_PORT, TRUSTD_PORT, nodePaths, type NodePaths } from '@talos-ts/machinery';
import { writeFileAtomic } from './system/atomic-file.ts';

const usage = `Usage: machined --platform container --state-dir DIR --address IP [--log-level info] [--containerd BIN] [--own-network [--cmdline ARGS]]
       machined --platform metal   (as PID 1, started by the image's /init)

Starts one Talos-TS node. apid listens on IP:${TALOS_API_PORT} and trustd (control plane) on IP:${TRUSTD_PORT}.
With no configuration in DIR the node waits in maintenance mode for
  talosctl apply-config --insecure -n IP -f controlplane.yaml

--containerd BIN  (container platform) also run containerd BIN as the node's system service, with
                  its socket, state and root under DIR (metal always runs it), so that
                  containers, stats and restart have a containerd to talk to
--own-network     (container platform) machined runs in a network namespace of its own, so the
                  network controllers apply the config's links, addresses and routes there;
                  without it the host's network is only read
--cmdline ARGS    (with --own-network) the kernel arguments this node would have booted with; their
                  ip= settings become the node's cmdline network config, as on a VM (the process
                  provisioner passes the address and gateway it gave the node's namespace)

Environment (test knobs):
  TALOSTS_DISCOVERY_TTL_MS  TTL of the affiliate data published to the discovery service
                            (default 30 minutes, as upstream)
`;

/** Runs machined until it powers off or is signalled; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: [...argv],
      options: {
        platform: { type: 'string', default: 'container' },
        'state-dir': { type: 'string' },
        address: { type: 'string' },
        'log-level': { type: 'string', default: 'info' },
        containerd: { type: 'string' },
        'own-network': { type: 'boolean', default: false },
        cmdline: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`machined: ${(err as Error).message}\n\n${usage}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (args.platform === 'metal') return runMetal(args['log-level'] as LogLevel);
  const problems: string[] = [];
  if (args.platform !== 'container') problems.push(`--platform ${args.platform}: must be "container" or "metal" (metal is PID 1 in the image)`);
  if (!args['state-dir']) problems.push('--state-dir is required');
  if (!args.address || isIP(args.address) === 0) problems.push(`--address must be an IP address, got ${JSON.stringify(args.address ?? '')}`);
  if (args.cmdline !== undefined && args['own-network'] !== true) problems.push('--cmdline needs --own-network (only a node that owns its namespace applies ip= settings)');
  if (!['debug', 'info', 'warn', 'error'].includes(args['log-level'] ?? '')) problems.push(`--log-level must be debug, info, warn or error`);
  if (problems.length > 0) {
    process.stderr.write(`machined: ${problems.join('\nmachined: ')}\n\n${usage}`);
    return 2;
  }

  // Test knob, not a flag: integration suites shorten the discovery TTL to watch a dead node expire.
  const ttlEnv = process.env['TALOSTS_DISCOVERY_TTL_MS'];
  const discoveryTtlMs = ttlEnv !== undefined && ttlEnv !== '' ? Number(ttlEnv) : undefined;
  if (discoveryTtlMs !== undefined && !(Number.isInteger(discoveryTtlMs) && discoveryTtlMs >= 1000)) problems.push('TALOSTS_DISCOVERY_TTL_MS must be an integer number of milliseconds, at least 1000');
  if (problems.length > 0) {
    process.stderr.write(`machined: ${problems.join('\nmachined: ')}\n\n${usage}`);
    return 2;
  }

  const stateDir = resolve(args['state-dir'] as string);
  const containerd = args.containerd !== undefined ? containerContainerd(args.containerd, nodePaths(stateDir)) : undefined;

  let powerOff: () => void = () => {};
  const poweredOff = new Promise<void>((r) => (powerOff = r));
  const node = new TalosNode({
    platform: 'container',
    stateDir,
    address: args.address as string,
    logger: createLogger({ level: args['log-level'] as LogLevel }),
    onPowerOff: () => powerOff(),
    ...(discoveryTtlMs !== undefined ? { discoveryTtlMs } : {}),
    ...(containerd ? { containerd } : {}),
    ownsNetwork: args['own-network'] === true,
    ...(args.cmdline !== undefined ? { cmdline: args.cmdline } : {}),
  });
  const stop = (): void => {
    void node.stop().finally(() => powerOff());
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  try {
    await node.start();
  } catch (err) {
    process.stderr.write(`machined: boot failed: ${(err as Error).message}\n`);
    await node.stop().catch(() => {});
    return 1;
  }
  await poweredOff;
  await node[Symbol.asyncDispose]();
  return 0;
}

/**
 * containerd for a container-mode node: everything it keeps lives under the node's state dir, and
 * its config turns off the CRI plugin as upstream's system containerd does (the node's containers
 * are listed through containerd's own API), so nodes on one host never share a path.
 */
function containerContainerd(bin: string, paths: NodePaths): { argv: string[]; socket: string } {
  mkdirSync(dirname(paths.containerdConfig), { recursive: true });
  const toml = [
    'version = 2',
    'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = ${JSON.stringify(join(paths.containerdRootDir, 'opt'))}`,
    '',
  ].join('\n');
  writeFileSync(paths.containerdConfig, toml);
  return {
    argv: [bin, '--config', paths.containerdConfig, '--address', paths.containerdSocket, '--state', paths.containerdStateDir, '--root', paths.containerdRootDir],
    socket: paths.containerdSocket,
  };
}

/**
 * machined as PID 1 on a real kernel. It never returns: a fatal error is printed to the console and
 * the machine restarts after a delay (PID 1 exiting would panic the kernel).
 */
async function runMetal(level: LogLevel): Promise<number> {
  // Every console line starts with the guest's uptime, as the kernel's and /init's do: together they
  // are the boot timeline (the image bench reads it).
  const uptimeBaseS = bootUptimeSeconds() - performance.now() / 1000;
  // The console gets synchronous writes: a message must be out before a reboot or a hang.
  const say = (line: string): void => {
    try {
      writeSync(1, `[${(uptimeBaseS + performance.now() / 1000).toFixed(3).padStart(8)}] ${line}\n`);
    } catch {
      // No console: nothing else to tell.
    }
  };
  const logger = createLogger({
    level,
    sink: (r) => {
      const { time, level: l, msg, ...fields } = r as unknown as Record<string, unknown>;
      say(`${String(time).slice(11, 23)} ${String(l).padEnd(5)} ${String(msg)}${Object.keys(fields).length ? ` ${JSON.stringify(fields)}` : ''}`);
    },
  });
  say(`machined: starting on metal as PID ${process.pid}`);
  let host: MetalHost | undefined;
  const fatal = async (err: unknown): Promise<never> => {
    say(`machined: fatal: ${(err as Error)?.stack ?? String(err)}\nmachined: restarting in ${FATAL_REBOOT_DELAY_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, FATAL_REBOOT_DELAY_MS));
    try {
      host?.restart();
    } catch {
      // Keep PID 1 alive whatever happens.
    }
    return new Promise<never>(() => setInterval(() => {}, 60_000));
  };
  // PID 1 must never exit, not even when every server is closed during a power transition.
  setInterval(() => {}, 1 << 30);
  process.on('uncaughtException', (err) => void fatal(err));
  process.on('unhandledRejection', (err) => void fatal(err));
  try {
    host = startMetal(logger);
    say(`machined: machine prepared (${host.boot.modulesLoaded} modules, address ${host.boot.address})`);
    host.startReaper();
    host.startMemoryReport();
    const paths = nodePaths(METAL_STATE_DIR);
    mkdirSync(paths.root, { recursive: true });
    const config = await host.fetchConfig(AbortSignal.timeout(60_000));
    if (config !== undefined) await writeFileAtomic(paths.config, config);
    const metal = host;
    const systemDisk = host.boot.systemDisk;
    const node = new TalosNode({
      platform: 'metal',
      stateDir: paths.root,
      address: host.boot.address,
      ...(host.boot.hostname ? { defaultHostname: host.boot.hostname } : {}),
      logger,
      nodeFlags: process.execArgv,
      prestartApid: true,
      onPowerOff: () => metal.powerOff(),
      onReboot: () => metal.restart(),
      rollbackBoot: () => metal.rollbackBoot(),
      upgradeBoot: (assets) => metal.upgradeBoot(assets),
      checkUpgradeBoot: (assets) => metal.checkUpgradeBoot(assets),
      trustedImageKey: () => metal.trustedImageKey(),
      ...(metal.install ? { onInstall: metal.install } : {}),
      ...(host.boot.systemDisk ? { metaPartition: host.boot.systemDisk.metaDevice } : {}),
      ...(systemDisk ? { wipeSystemVolume: (label: string) => wipeSystemVolume(systemDisk, label) } : {}),
      containerd: {
        argv: ['/usr/bin/containerd', '--address', METAL_CONTAINERD_SOCKET, '--state', '/system/run/containerd', '--root', '/var/lib/containerd'],
        socket: METAL_CONTAINERD_SOCKET,
      },
    });
    // Ctrl-Alt-Del reaches PID 1 as SIGINT; ACPI power button handlers send SIGPWR or SIGTERM.
    // As upstream, these take over whatever sequence runs.
    const onSignalError = (err: unknown): void => say(`machined: ${(err as Error).message}`);
    process.on('SIGINT', () => void node.reboot({ takeover: true }).catch(onSignalError));
    process.on('SIGTERM', () => void node.shutdown().catch(onSignalError));
    process.on('SIGPWR', () => void node.shutdown().catch(onSignalError));
    await node.start();
    if (node.bootFailure === undefined) {
      const settled = host.markBootGood();
      if (settled) node.reportBootSettled(settled);
    }
    const how = node.bootFailure !== undefined ? `NOT BOOTED: ${node.bootFailure}` : node.inMaintenance ? 'maintenance mode' : 'configured';
    say(`machined: node is up (${host.boot.address}, ${how})`);
    return await new Promise<number>(() => {});
  } catch (err) {
    return fatal(err);
  }
}
