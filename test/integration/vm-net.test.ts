// Issue 13's VM bullet (slow; runs with TALOS_SLOW=1): one VM with NIC0 on QEMU's user network (the API
// forward) and three more NICs on taps bridged inside a network namespace this test makes, where real
// dnsmasq serves DHCPv4. The node boots with `ip=eth1:dhcp` and must lease from dnsmasq; then
// `apply-config --mode no-reboot` adds a VLAN on eth1 and a bond over eth2 and eth3, then moves the
// VLAN's static address, all live, checked from the kernel (get links/addresses) and by ping from the
// namespace. TALOS_IMAGE_DIR reuses an image built earlier (talos-imager build --out DIR).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { bootVm, buildImage, USER_NET, type RunningVm } from '@talos-ts/imager';
import { main } from '@talos-ts/talosctl';
import { freeLoopbackPort, tempDir, waitFor } from '@talos-ts/testkit';

const slow = process.env.TALOS_SLOW === '1' ? false : 'slow suite: set TALOS_SLOW=1 (builds an image and boots a VM with bridged NICs, ~1.5 min)';
const repoRoot = new URL('../..', import.meta.url).pathname;
const tmp = tempDir('it-vm-net-');
const NS = 'tvmn-ns';
const BR = 'tvmn-br0';
const TAPS = ['tvmn-tap1', 'tvmn-tap2', 'tvmn-tap3'] as const;
const SUBNET = '10.230.0';
const VLAN_ID = 100;
const VLAN_SUBNET = '10.230.100';
const startedAt = Date.now();
let vm: RunningVm | undefined;
let dnsmasq: ChildProcess | undefined;
let port = 0;
let talosconfig = '';
let baseConfig: Record<string, unknown> = {};
let dhcpAddress = '';

async function talosctl(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (t) => void out.push(t), err: (t) => void err.push(t) });
  return { code, out: out.join(''), err: err.join('') };
}

const api = (...args: string[]): Promise<{ code: number; out: string; err: string }> =>
  talosctl('--talosconfig', talosconfig, '-e', `127.0.0.1:${port}`, '-n', USER_NET.address, ...args);

function sh(cmd: string, ...args: string[]): { code: number; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 15_000 });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

function must(cmd: string, ...args: string[]): void {
  const r = sh(cmd, ...args);
  assert.equal(r.code, 0, `${cmd} ${args.join(' ')}: ${r.out}`);
}

/**
 * One ping from the bridge in the test namespace, untagged or over VLAN `VLAN_ID`; true when answered.
 * The host has no ping binary and its kernel neither 8021q nor bridge VLAN filtering, so a raw-socket
 * script speaks (tagged) ARP and ICMP itself.
 */
const rawPing = (vid: number, source: string, address: string): boolean =>
  sh('ip', 'netns', 'exec', NS, 'python3', join(repoRoot, 'test/integration/testdata/raw-ping.py'), BR, String(vid), source, address).code === 0;
const pingFromNs = (address: string): boolean => rawPing(0, `${SUBNET}.1`, address);
const vlanPingFromNs = (address: string): boolean => rawPing(VLAN_ID, `${VLAN_SUBNET}.1`, address);

/** `talosctl get <type> -o json` as a list of { id, spec }. */
async function getAll<T>(type: string): Promise<Array<{ id: string; spec: T }>> {
  const r = await api('get', type, '-o', 'json');
  if (r.code !== 0) return [];
  return r.out
    .split(/\n(?=\{)/)
    .filter((t) => t.trim() !== '')
    .map((t) => {
      const o = JSON.parse(t) as { metadata: { id: string }; spec: T };
      return { id: o.metadata.id, spec: o.spec };
    });
}

type AddressStatus = { address: string; linkName: string };
type LinkStatus = { index: number; operationalState: string; kind: string; linkState: boolean; masterIndex?: number };

async function addressesOn(link: string): Promise<string[]> {
  return (await getAll<AddressStatus>('addresses')).filter((a) => a.spec.linkName === link).map((a) => a.spec.address);
}

/** The machine config with these interfaces, applied without a reboot. */
async function applyInterfaces(interfaces: unknown[]): Promise<void> {
  const cfg = structuredClone(baseConfig) as { machine: { network?: Record<string, unknown> } };
  cfg.machine.network = { ...(cfg.machine.network ?? {}), interfaces };
  const file = join(tmp.dir, `net-${Date.now()}.yaml`);
  writeFileSync(file, stringify(cfg));
  const r = await api('apply-config', '--mode', 'no-reboot', '-f', file);
  assert.equal(r.code, 0, r.err);
}

function cleanupHost(): void {
  sh('ip', 'netns', 'del', NS);
  for (const t of TAPS) sh('ip', 'link', 'del', t);
}

before(async () => {
  if (slow) return;
  cleanupHost();
  const imageStarted = Date.now();
  const imageDir = process.env.TALOS_IMAGE_DIR ?? (await buildImage({ repoRoot, outDir: join(tmp.dir, 'out'), compression: 'fast' })).dir;
  process.stderr.write(`# vm-net: image ready in ${((Date.now() - imageStarted) / 1000).toFixed(1)} s\n`);
  // The bridge and dnsmasq live in the test's namespace; the taps are made in the host namespace so
  // QEMU can attach to them by name, then moved into the namespace (a tap keeps its queue across the move).
  must('ip', 'netns', 'add', NS);
  must('ip', '-n', NS, 'link', 'set', 'lo', 'up');
  must('ip', '-n', NS, 'link', 'add', BR, 'type', 'bridge');
  must('ip', '-n', NS, 'addr', 'add', `${SUBNET}.1/24`, 'dev', BR);
  must('ip', '-n', NS, 'link', 'set', BR, 'up');
  for (const t of TAPS) must('ip', 'tuntap', 'add', t, 'mode', 'tap');
  const conf = join(tmp.dir, 'dnsmasq.conf');
  writeFileSync(
    conf,
    [
      'port=0',
      `interface=${BR}`,
      'bind-interfaces',
      'dhcp-authoritative',
      'no-ping',
      `dhcp-leasefile=${join(tmp.dir, 'leases')}`,
      `dhcp-range=${SUBNET}.50,${SUBNET}.59,255.255.255.0,2m`,
      // No router: the node's default route stays on NIC0, where the API forward is.
      'dhcp-option=option:router',
      `dhcp-option=option:dns-server,${SUBNET}.1`,
    ].join('\n') + '\n',
  );
  dnsmasq = spawn('ip', ['netns', 'exec', NS, 'dnsmasq', '--no-daemon', '--log-dhcp', `--conf-file=${conf}`, '--user=root'], { stdio: ['ignore', 'ignore', 'pipe'] });
  port = await freeLoopbackPort();
  const bootStarted = Date.now();
  vm = bootVm(imageDir, { apiPort: port, taps: TAPS, kernelArgs: ['ip=eth1:dhcp'] });
  // QEMU holds the taps once it has parsed its netdevs: a held tap has carrier.
  await waitFor('QEMU attached to the taps', () => TAPS.every((t) => sh('ip', 'link', 'set', t, 'up').code === 0 && readFileSync(`/sys/class/net/${t}/carrier`, 'utf8').trim() === '1'), 30_000);
  for (const t of TAPS) {
    must('ip', 'link', 'set', t, 'netns', NS);
    must('ip', '-n', NS, 'link', 'set', t, 'master', BR, 'up');
  }
  await vm.waitForLine(/machined: node is up/, { timeoutMs: 240_000 });
  const g = await talosctl('gen', 'config', 'vm-net', `https://${USER_NET.address}:6443`, '--additional-sans', '127.0.0.1', '-o', join(tmp.dir, 'cfg'));
  assert.equal(g.code, 0, g.err);
  talosconfig = join(tmp.dir, 'cfg', 'talosconfig');
  baseConfig = parse(readFileSync(join(tmp.dir, 'cfg', 'controlplane.yaml'), 'utf8')) as Record<string, unknown>;
  const r = await talosctl('apply-config', '--insecure', '-n', `127.0.0.1:${port}`, '-f', join(tmp.dir, 'cfg', 'controlplane.yaml'));
  assert.equal(r.code, 0, r.err);
  await waitFor('apid answers over mTLS', async () => (await api('version')).code === 0, 180_000);
  process.stderr.write(`# vm-net: booted and configured in ${((Date.now() - bootStarted) / 1000).toFixed(1)} s\n`);
});

after(async () => {
  await vm?.[Symbol.asyncDispose]();
  if (dnsmasq && dnsmasq.exitCode === null) {
    const exited = new Promise((r) => dnsmasq?.once('exit', r));
    dnsmasq.kill('SIGTERM');
    await exited;
  }
  cleanupHost();
  tmp.remove();
  if (!slow) process.stderr.write(`vm-net: wall time ${((Date.now() - startedAt) / 1000).toFixed(1)} s\n`);
});

test('vm-net: ip=eth1:dhcp leases an address from dnsmasq on the bridge, and it answers ping from the namespace', { skip: slow, timeout: 180_000 }, async () => {
  await waitFor(
    'a DHCP address on eth1',
    async () => {
      const a = (await addressesOn('eth1')).find((x) => x.startsWith(`${SUBNET}.`));
      if (a) dhcpAddress = a.split('/')[0] ?? '';
      return a !== undefined;
    },
    120_000,
  );
  const n = Number(dhcpAddress.split('.')[3]);
  assert.ok(n >= 50 && n <= 59, `${dhcpAddress} is outside dnsmasq's range`);
  const leases = readFileSync(join(tmp.dir, 'leases'), 'utf8');
  assert.match(leases, new RegExp(`52:54:00:30:00:01 ${dhcpAddress.replaceAll('.', '\\.')} `), leases);
  await waitFor(`${dhcpAddress} answers ping`, () => pingFromNs(dhcpAddress), 30_000).catch(async (err: Error) => {
    const routes = await api('get', 'routes');
    const addrs = await api('get', 'addresses');
    throw new Error(`${err.message}\nroutes:\n${routes.out}\naddresses:\n${addrs.out}\nneigh: ${sh('ip', '-n', NS, 'neigh').out}`);
  });
  const resolvers = await api('get', 'resolvers', '-o', 'json');
  assert.match(resolvers.out, new RegExp(`${SUBNET}\\.1\\b`), `dnsmasq's DNS option is not among the resolvers: ${resolvers.out}`);
});

const vlanLink = `eth1.${VLAN_ID}`;
const eth1Base = { interface: 'eth1', dhcp: true };
// Two members on the same bridge: active-backup keeps one active and the other ready (miimon watches carrier).
const bond = { interface: 'bond0', bond: { mode: 'active-backup', miimon: 100, interfaces: ['eth2', 'eth3'] }, addresses: [`${SUBNET}.20/24`] };

test('vm-net: apply-config --mode no-reboot adds a VLAN with a static address and a bond of two links; the VLAN address answers through the bridge', { skip: slow, timeout: 180_000 }, async () => {
  await applyInterfaces([{ ...eth1Base, vlans: [{ vlanId: VLAN_ID, addresses: [`${VLAN_SUBNET}.2/24`] }] }, bond]);
  await waitFor(
    `${vlanLink} and bond0 up with eth2 and eth3 enslaved`,
    async () => {
      const links = await getAll<LinkStatus>('links');
      const byId = new Map(links.map((l) => [l.id, l.spec]));
      const b = byId.get('bond0');
      return (
        byId.get(vlanLink)?.operationalState === 'up' &&
        byId.get(vlanLink)?.kind === 'vlan' &&
        b?.kind === 'bond' &&
        b.operationalState === 'up' &&
        byId.get('eth2')?.masterIndex === b.index &&
        byId.get('eth3')?.masterIndex === b.index
      );
    },
    60_000,
  ).catch(async (err: Error) => {
    const links = await api('get', 'links', '-o', 'yaml');
    throw new Error(`${err.message}\nlinks:\n${links.out}${links.err}`);
  });
  await waitFor('the VLAN and bond addresses in the kernel', async () => (await addressesOn(vlanLink)).includes(`${VLAN_SUBNET}.2/24`) && (await addressesOn('bond0')).includes(`${SUBNET}.20/24`), 60_000);
  await waitFor(`${VLAN_SUBNET}.2 answers ping over VLAN ${VLAN_ID}`, () => vlanPingFromNs(`${VLAN_SUBNET}.2`), 30_000);
  await waitFor(`bond0's ${SUBNET}.20 answers ping`, () => pingFromNs(`${SUBNET}.20`), 30_000);
  assert.ok(pingFromNs(dhcpAddress), 'the DHCP address stopped answering');
});

test('vm-net: apply-config --mode no-reboot moves the static address; the old one leaves the kernel, DHCP and the API keep working', { skip: slow, timeout: 180_000 }, async () => {
  const t0 = Date.now();
  await applyInterfaces([{ ...eth1Base, vlans: [{ vlanId: VLAN_ID, addresses: [`${VLAN_SUBNET}.3/24`] }] }, bond]);
  await waitFor(`${VLAN_SUBNET}.3 answers ping`, () => vlanPingFromNs(`${VLAN_SUBNET}.3`), 60_000);
  const usable = Date.now() - t0;
  await waitFor('the old address gone from the kernel', async () => {
    const a = await addressesOn(vlanLink);
    return a.includes(`${VLAN_SUBNET}.3/24`) && !a.includes(`${VLAN_SUBNET}.2/24`);
  }, 30_000);
  assert.ok(!vlanPingFromNs(`${VLAN_SUBNET}.2`), 'the old address still answers');
  assert.ok((await addressesOn('eth1')).includes(`${dhcpAddress}/24`), 'the DHCP address left eth1');
  assert.ok(pingFromNs(dhcpAddress), 'the DHCP address stopped answering');
  assert.equal((await api('version')).code, 0);
  process.stderr.write(`vm-net: apply-config → new address answering ping: ${usable} ms\n`);
});
