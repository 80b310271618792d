import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nullLogger } from '@talos-ts/cosi';
import { applyPatches, createGrpcClient, generateMachineConfigs, generateSecretsBundle, loadConfig, machinePb, parsePatch, toConfigSecrets } from '@talos-ts/machinery';
import { TalosNode } from './node.ts';

// A whole node in a network namespace of its own (as the process back end runs it), asking real
// dnsmasq for its address across a veth pair: the DHCP operator, the merge and spec controllers and
// the /etc files, end to end through apply-config.
const uniq = `${process.pid % 100000}`;
const SRV = `twire-ns${uniq}`;
const NODE = `twire-nn${uniq}`;
const canRun = process.getuid?.() === 0 && has('dnsmasq') && has('ip');
const idle = [process.execPath, '-e', 'setInterval(() => {}, 1000)'];

function has(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const ipIn = (ns: string, ...args: string[]): string => execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('TalosNode: a node in its own namespace with dhcp: true gets its address, route and resolv.conf from dnsmasq', { skip: !canRun && 'needs root, ip and dnsmasq', timeout: 60_000 }, async (t) => {
  const drop = (): void => {
    for (const ns of [SRV, NODE]) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // not there
      }
    }
  };
  drop();
  t.after(drop);
  execFileSync('ip', ['netns', 'add', SRV]);
  execFileSync('ip', ['netns', 'add', NODE]);
  execFileSync('ip', ['link', 'add', 'veth-s', 'netns', SRV, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', NODE]);
  ipIn(SRV, 'addr', 'add', '10.27.2.1/24', 'dev', 'veth-s');
  ipIn(SRV, 'link', 'set', 'veth-s', 'up');

  const dir = mkdtempSync(join(tmpdir(), 'twire-node-'));
  const conf = join(dir, 'dnsmasq.conf');
  writeFileSync(
    conf,
    [
      'port=0',
      'interface=veth-s',
      'bind-interfaces',
      'dhcp-authoritative',
      'no-ping',
      `dhcp-leasefile=${join(dir, 'leases')}`,
      'dhcp-range=10.27.2.50,10.27.2.99,255.255.255.0,2m',
      'dhcp-option=option:router,10.27.2.1',
      'dhcp-option=option:dns-server,10.27.2.53',
      'dhcp-option=option:domain-search,wire.test',
    ].join('\n') + '\n',
  );
  const dnsmasq = spawn('ip', ['netns', 'exec', SRV, 'dnsmasq', '--no-daemon', `--conf-file=${conf}`, '--user=root'], { stdio: 'ignore' });
  t.after(async () => {
    if (dnsmasq.exitCode === null) {
      const exited = new Promise((r) => dnsmasq.once('exit', r));
      dnsmasq.kill('SIGTERM');
      await exited;
    }
  });

  const address = '127.0.27.10';
  const stateDir = join(dir, 'state');
  const node = new TalosNode({
    platform: 'container',
    stateDir,
    address,
    logger: nullLogger,
    apidCommand: idle,
    trustdCommand: idle,
    restartIntervalMs: 200,
    ownsNetwork: true,
    netnsPath: `/run/netns/${NODE}`,
  });
  t.after(async () => {
    await node[Symbol.asyncDispose]();
    rmSync(dir, { recursive: true, force: true });
  });
  await node.start();

  const bundle = await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' });
  const g = generateMachineConfigs({ clusterName: 'wire', endpoint: `https://${address}:6443`, withClusterDiscovery: false, secrets: toConfigSecrets(bundle) });
  const loaded = loadConfig(g.controlplane.toYaml(), { filename: 'base' });
  const patch = parsePatch('machine:\n  network:\n    interfaces:\n      - interface: eth0\n        dhcp: true\n', { name: 'dhcp' });
  if (loaded.error || patch.error) throw loaded.error ?? patch.error;
  const cfg = applyPatches(loaded.value, [patch.value]);
  if (cfg.error) throw cfg.error;

  const started = Date.now();
  const c = createGrpcClient(machinePb.MachineService, `${address}:50000`, { tls: { insecureSkipVerify: true } });
  try {
    await c.applyConfiguration({ data: Buffer.from(cfg.value.toYaml()), mode: machinePb.ApplyConfigurationRequest_Mode.AUTO }, { timeoutMs: 10_000 });
  } finally {
    c.close();
  }
  await until('a leased address on eth0', () => /inet 10\.27\.2\.\d+\/24/.test(ipIn(NODE, 'addr', 'show', 'eth0')));
  t.diagnostic(`apply-config → DHCP address in the node's kernel in ${Date.now() - started} ms`);
  assert.match(ipIn(NODE, 'route'), /^default via 10\.27\.2\.1 dev eth0 /m);
  const resolv = join(stateDir, 'system', 'etc', 'resolv.conf');
  await until('the lease DNS in resolv.conf', () => {
    try {
      return readFileSync(resolv, 'utf8').includes('nameserver 10.27.2.53');
    } catch {
      return false;
    }
  });
  assert.match(readFileSync(resolv, 'utf8'), /search wire\.test/);
});
