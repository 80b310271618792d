import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ActiveMachineConfigId,
  AddressSpecType,
  AddressStatusType,
  LinkStatusType,
  MachineConfigType,
  NamespaceName,
  ResolverStatusType,
  RouteStatusType,
  TimeServerStatusType,
  applyPatches,
  generateMachineConfigs,
  generateSecretsBundle,
  loadConfig,
  newMachineConfig,
  parsePatch,
  toConfigSecrets,
  type LinkStatusSpec,
  type ResolverStatusSpec,
  type RouteStatusSpec,
  type TimeServerStatusSpec,
} from '@talos-ts/machinery';
import { FakeClock, assertNoResource, assertResources, startControllerSuite } from '@talos-ts/testkit';
import { openDhcp4Socket, openDhcp6Socket } from '../../linux/dhcp4-socket.ts';
import { openNetworkKernel } from '../../linux/rtnetlink.ts';
import { networkControllers } from './index.ts';
import { OperatorSpecController } from './operator-spec.ts';

// The DHCP operator end to end on the real controller runtime: real dnsmasq in one namespace this
// test makes, the network controllers (operator, merge, spec, status) on the other end of a veth
// pair in a second one.
const uniq = `${process.pid % 100000}`;
const SRV = `twire-s${uniq}`;
const CLI = `twire-c${uniq}`;
const canRun = process.getuid?.() === 0 && has('dnsmasq') && has('ip');

function has(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const ipIn = (ns: string, ...args: string[]): string => execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

function netnsPair(): Disposable {
  const drop = (): void => {
    for (const ns of [SRV, CLI]) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // not there
      }
    }
  };
  drop();
  execFileSync('ip', ['netns', 'add', SRV]);
  execFileSync('ip', ['netns', 'add', CLI]);
  execFileSync('ip', ['link', 'add', 'veth-s', 'netns', SRV, 'type', 'veth', 'peer', 'name', 'veth-c', 'netns', CLI]);
  // No duplicate address detection: IPv6 addresses are usable the moment they are added.
  for (const [ns, dev] of [[SRV, 'veth-s'], [CLI, 'veth-c']] as const) execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `net.ipv6.conf.${dev}.accept_dad=0`]);
  ipIn(SRV, 'addr', 'add', '10.27.0.1/24', 'dev', 'veth-s');
  ipIn(SRV, 'addr', 'add', 'fd27::1/64', 'dev', 'veth-s', 'nodad');
  ipIn(SRV, 'link', 'set', 'veth-s', 'up');
  return { [Symbol.dispose]: drop };
}

const DHCP4 = [
  'dhcp-range=10.27.0.50,10.27.0.99,255.255.255.0,2m',
  'dhcp-option=option:router,10.27.0.1',
  'dhcp-option=option:dns-server,10.27.0.53,10.27.0.54',
  'dhcp-option=option:ntp-server,10.27.0.123',
  'dhcp-option=option:domain-search,example.test',
  'dhcp-option=option:mtu,1400',
];
const DHCP6 = [
  'dhcp-range=fd27::100,fd27::1ff,64,2m',
  'enable-ra',
  'ra-param=veth-s,3',
  'dhcp-option=option6:dns-server,[fd27::53]',
  'dhcp-option=option6:domain-search,v6.test',
  'dhcp-option=option6:ntp-server,[fd27::123]',
];

/** dnsmasq as the DHCP server only (port 0: no DNS), leases of dnsmasq's shortest length. */
async function dnsmasq(options: readonly string[], ready: RegExp): Promise<{ leases: () => string; stop: () => Promise<void> } & AsyncDisposable> {
  const dir = mkdtempSync(join(tmpdir(), 'twire-'));
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
      ...options,
    ].join('\n') + '\n',
  );
  const proc: ChildProcess = spawn('ip', ['netns', 'exec', SRV, 'dnsmasq', '--no-daemon', '--log-dhcp', `--conf-file=${conf}`, '--user=root'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  for (let i = 0; i < 100 && !ready.test(log); i++) {
    if (proc.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!ready.test(log)) throw new Error(`dnsmasq did not start: ${log}`);
  const stop = async (): Promise<void> => {
    if (proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  };
  return {
    leases: () => {
      try {
        return readFileSync(join(dir, 'leases'), 'utf8');
      } catch {
        return '';
      }
    },
    stop,
    async [Symbol.asyncDispose]() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const bundle = await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' });
const base = generateMachineConfigs({ clusterName: 'wire', endpoint: 'https://127.0.27.1:6443', secrets: toConfigSecrets(bundle) }).worker.toYaml();
function configYaml(patch: string): string {
  const loaded = loadConfig(base, { filename: 'worker' });
  const p = parsePatch(patch, { name: 'patch' });
  if (loaded.error || p.error) throw loaded.error ?? p.error;
  const out = applyPatches(loaded.value, [p.value]);
  if (out.error) throw out.error;
  return out.value.toYaml();
}
const net = (type: string): { namespace: string; type: string } => ({ namespace: NamespaceName.network, type });

test(
  'DHCP operator: a dnsmasq lease reaches the kernel and the resolvers, and removing the operator releases the lease and takes it all away',
  { skip: !canRun && 'needs root, ip and dnsmasq', timeout: 60_000 },
  async (t) => {
    using _ns = netnsPair();
    await using server = await dnsmasq(DHCP4, /DHCP, IP range/);
    const netnsPath = `/run/netns/${CLI}`;
    await using suite = startControllerSuite({
      controllers: networkControllers({
        defaultHostname: 'talos-wire',
        openKernel: () => openNetworkKernel({ netnsPath }),
        ownsNetwork: true,
        openDhcpTransport: (operator, ifname, hardwareAddress) => {
          assert.equal(operator, 'dhcp4');
          return openDhcp4Socket({ ifname, hardwareAddress, netnsPath });
        },
      }),
    });
    const started = Date.now();
    suite.state.create(newMachineConfig(ActiveMachineConfigId, { yaml: configYaml('machine:\n  network:\n    interfaces:\n      - interface: veth-c\n        dhcp: true\n') }));

    let leased: string | undefined;
    for (let i = 0; i < 300 && !leased; i++) {
      leased = suite.state.list(net(AddressStatusType)).find((r) => /^veth-c\/10\.27\.0\.\d+\/24$/.test(r.metadata.id))?.metadata.id;
      if (!leased) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(leased, 'the leased address reaches AddressStatus');
    const cidr = leased.slice('veth-c/'.length);
    t.diagnostic(`lease applied to the kernel ${Date.now() - started} ms after the config: ${cidr}`);
    assert.match(ipIn(CLI, 'addr', 'show', 'veth-c'), new RegExp(`inet ${cidr.replace(/\./g, '\\.')} `));
    // The operator's config carries upstream's id, the merged spec the plain one.
    await assertResources(suite.state, { namespace: NamespaceName.networkConfig, type: AddressSpecType }, { ids: [`dhcp4/veth-c/veth-c/${cidr}`] });
    await assertResources(suite.state, net(AddressSpecType), { ids: [`veth-c/${cidr}`] });
    await assertResources<RouteStatusSpec>(suite.state, net(RouteStatusType), {
      ids: ['inet4/10.27.0.1//1024'],
      check: (r) => assert.deepEqual([r.spec.outLinkName, r.spec.protocol], ['veth-c', 'boot']),
    });
    // proto boot is what `ip route` leaves out.
    assert.match(ipIn(CLI, 'route'), new RegExp(`^default via 10\\.27\\.0\\.1 dev veth-c src ${cidr.split('/')[0]!.replace(/\./g, '\\.')} metric 1024 $`, 'm'));
    await assertResources<LinkStatusSpec>(suite.state, net(LinkStatusType), { ids: ['veth-c'], check: (r) => assert.equal(r.spec.mtu, 1400) });
    await assertResources<ResolverStatusSpec>(suite.state, net(ResolverStatusType), {
      ids: ['resolvers'],
      check: (r) => assert.deepEqual([r.spec.dnsServers, r.spec.searchDomains], [['10.27.0.53', '10.27.0.54'], ['example.test']]),
    });
    await assertResources<TimeServerStatusSpec>(suite.state, net(TimeServerStatusType), {
      ids: ['timeservers'],
      check: (r) => assert.deepEqual(r.spec.timeServers, ['10.27.0.123']),
    });
    assert.match(server.leases(), new RegExp(` ${cidr.split('/')[0]!.replace(/\./g, '\\.')} `));

    // No more dhcp on the link: the client releases its lease and its specs go, down to the kernel.
    const mc = suite.state.get({ namespace: NamespaceName.config, type: MachineConfigType, id: ActiveMachineConfigId });
    suite.state.update({ ...mc, spec: { yaml: configYaml('machine:\n  network:\n    interfaces:\n      - interface: veth-c\n        addresses: [10.27.1.2/24]\n') } });
    await assertNoResource(suite.state, { ...net(AddressStatusType), id: `veth-c/${cidr}` });
    await assertResources(suite.state, net(AddressStatusType), { ids: ['veth-c/10.27.1.2/24'] });
    await assertNoResource(suite.state, { ...net(RouteStatusType), id: 'inet4/10.27.0.1//1024' });
    await assertResources<ResolverStatusSpec>(suite.state, net(ResolverStatusType), {
      ids: ['resolvers'],
      check: (r) => assert.ok(!r.spec.dnsServers.includes('10.27.0.53'), `lease DNS still there: ${r.spec.dnsServers.join(',')}`),
    });
    assert.doesNotMatch(ipIn(CLI, 'addr', 'show', 'veth-c'), new RegExp(cidr.split('/')[0]!.replace(/\./g, '\\.')));
    // dnsmasq drops a released lease from its database.
    for (let i = 0; i < 100 && server.leases().includes(cidr.split('/')[0]!); i++) await new Promise((r) => setTimeout(r, 50));
    assert.doesNotMatch(server.leases(), new RegExp(` ${cidr.split('/')[0]!.replace(/\./g, '\\.')} `));

    // DHCP again, then the runtime stops (machined shutting down): the lease is released on the way out.
    suite.state.update({ ...suite.state.get(mc.metadata), spec: { yaml: configYaml('machine:\n  network:\n    interfaces:\n      - interface: veth-c\n        dhcp: true\n') } });
    for (let i = 0; i < 300 && !/ 10\.27\.0\.\d+ /.test(server.leases()); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(server.leases(), / 10\.27\.0\.\d+ /, 'a second lease');
    // Bound on our side too (dnsmasq records the lease before its ACK arrives).
    await assertResources(suite.state, net(AddressStatusType), { ids: [`veth-c/${server.leases().match(/ (10\.27\.0\.\d+) /)![1]}/24`] });
    await suite.stop();
    for (let i = 0; i < 100 && / 10\.27\.0\.\d+ /.test(server.leases()); i++) await new Promise((r) => setTimeout(r, 50));
    assert.doesNotMatch(server.leases(), / 10\.27\.0\.\d+ /, 'released when the runtime stopped');
  },
);

test(
  'DHCP operator: the node sends its hostname (option 12) once bound, and a renamed node renews at once under its new name',
  { skip: !canRun && 'needs root, ip and dnsmasq', timeout: 60_000 },
  async () => {
    using _ns = netnsPair();
    await using server = await dnsmasq(DHCP4, /DHCP, IP range/);
    const netnsPath = `/run/netns/${CLI}`;
    await using suite = startControllerSuite({
      controllers: networkControllers({
        defaultHostname: 'talos-wire',
        openKernel: () => openNetworkKernel({ netnsPath }),
        ownsNetwork: true,
        openDhcpTransport: (_operator, ifname, hardwareAddress) => openDhcp4Socket({ ifname, hardwareAddress, netnsPath }),
      }),
    });
    const dhcp = 'machine:\n  network:\n    interfaces:\n      - interface: veth-c\n        dhcp: true\n';
    suite.state.create(newMachineConfig(ActiveMachineConfigId, { yaml: configYaml(dhcp) }));
    // dnsmasq's lease database: `expiry mac address hostname client-id`; `*` while it knows no name.
    const leaseLine = (name: string): RegExp => new RegExp(`^\\d+ [0-9a-f:]{17} 10\\.27\\.0\\.\\d+ ${name} `, 'm');
    for (let i = 0; i < 300 && !leaseLine('talos-wire').test(server.leases()); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(server.leases(), leaseLine('talos-wire'), server.leases());
    const address = /10\.27\.0\.\d+/.exec(server.leases())![0];

    // A hostname from the machine config: the client renews with it (same address, no new DISCOVER).
    const mc = suite.state.get({ namespace: NamespaceName.config, type: MachineConfigType, id: ActiveMachineConfigId });
    suite.state.update({ ...mc, spec: { yaml: configYaml(`${dhcp}    hostname: wire-renamed\n`) } });
    for (let i = 0; i < 300 && !leaseLine('wire-renamed').test(server.leases()); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(server.leases(), leaseLine('wire-renamed'), server.leases());
    assert.equal(/10\.27\.0\.\d+/.exec(server.leases())![0], address, 'the lease kept its address');
    assert.equal(server.leases().trim().split('\n').length, 1, server.leases());
  },
);

test(
  'DHCPv6 operator: dhcpOptions.ipv6 runs the DHCPv6 client; its address and DNS reach the kernel and the resolvers, and go when the operator does',
  { skip: !canRun && 'needs root, ip and dnsmasq', timeout: 60_000 },
  async (t) => {
    using _ns = netnsPair();
    await using _server = await dnsmasq(DHCP6, /DHCPv6, IP range/);
    const netnsPath = `/run/netns/${CLI}`;
    await using suite = startControllerSuite({
      controllers: networkControllers({
        defaultHostname: 'talos-wire',
        openKernel: () => openNetworkKernel({ netnsPath }),
        ownsNetwork: true,
        openDhcpTransport: (operator, ifname, hardwareAddress) => {
          assert.equal(operator, 'dhcp6');
          return openDhcp6Socket({ ifname, hardwareAddress, netnsPath });
        },
      }),
    });
    const started = Date.now();
    const dhcp6Only = 'machine:\n  network:\n    interfaces:\n      - interface: veth-c\n        dhcp: true\n        dhcpOptions:\n          ipv4: false\n          ipv6: true\n';
    suite.state.create(newMachineConfig(ActiveMachineConfigId, { yaml: configYaml(dhcp6Only) }));
    let leased: string | undefined;
    for (let i = 0; i < 600 && !leased; i++) {
      leased = suite.state.list(net(AddressStatusType)).find((r) => /^veth-c\/fd27::1[0-9a-f]{2}\/\d+$/.test(r.metadata.id))?.metadata.id;
      if (!leased) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(leased, 'the leased IPv6 address reaches AddressStatus');
    const addr = leased.slice('veth-c/'.length).split('/')[0]!;
    t.diagnostic(`DHCPv6 lease applied to the kernel ${Date.now() - started} ms after the config: ${leased}`);
    assert.match(ipIn(CLI, '-6', 'addr', 'show', 'veth-c'), new RegExp(`inet6 ${addr}/`));
    await assertResources<ResolverStatusSpec>(suite.state, net(ResolverStatusType), {
      ids: ['resolvers'],
      check: (r) => assert.deepEqual([r.spec.dnsServers, r.spec.searchDomains], [['fd27::53'], ['v6.test']]),
    });
    await assertResources<TimeServerStatusSpec>(suite.state, net(TimeServerStatusType), { ids: ['timeservers'], check: (r) => assert.deepEqual(r.spec.timeServers, ['fd27::123']) });

    const mc = suite.state.get({ namespace: NamespaceName.config, type: MachineConfigType, id: ActiveMachineConfigId });
    suite.state.update({ ...mc, spec: { yaml: configYaml('machine:\n  network:\n    interfaces:\n      - interface: veth-c\n        addresses: [10.27.1.2/24]\n') } });
    await assertNoResource(suite.state, { ...net(AddressStatusType), id: leased });
    assert.doesNotMatch(ipIn(CLI, '-6', 'addr', 'show', 'veth-c'), new RegExp(`inet6 ${addr}/`));
    await assertResources<TimeServerStatusSpec>(suite.state, net(TimeServerStatusType), { ids: ['timeservers'], check: (r) => assert.ok(!r.spec.timeServers.includes('fd27::123')) });
  },
);

test(
  'DHCP operator: with dnsmasq gone the lease expires (a fake clock moves the client) and its address, route and resolvers leave the kernel',
  { skip: !canRun && 'needs root, ip and dnsmasq', timeout: 60_000 },
  async () => {
    using _ns = netnsPair();
    // T1 and T2 within seconds, so that renewing and rebinding come before dnsmasq's 2-minute expiry.
    const server = await dnsmasq([...DHCP4, 'dhcp-option=option:T1,2', 'dhcp-option=option:T2,4'], /DHCP, IP range/);
    await using _server = server;
    const netnsPath = `/run/netns/${CLI}`;
    const clock = new FakeClock(Date.now());
    await using suite = startControllerSuite({
      controllers: [
        ...networkControllers({ defaultHostname: 'talos-wire', openKernel: () => openNetworkKernel({ netnsPath }), ownsNetwork: true }),
        new OperatorSpecController({ clock, openTransport: (_op, ifname, hardwareAddress) => openDhcp4Socket({ ifname, hardwareAddress, netnsPath }) }),
      ],
    });
    suite.state.create(newMachineConfig(ActiveMachineConfigId, { yaml: configYaml('machine:\n  network:\n    interfaces:\n      - interface: veth-c\n        dhcp: true\n') }));
    let leased: string | undefined;
    for (let i = 0; i < 300 && !leased; i++) {
      leased = suite.state.list(net(AddressStatusType)).find((r) => /^veth-c\/10\.27\.0\.\d+\/24$/.test(r.metadata.id))?.metadata.id;
      if (!leased) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(leased, 'the leased address reaches AddressStatus');
    await assertResources(suite.state, net(RouteStatusType), { ids: ['inet4/10.27.0.1//1024'] });
    await server.stop();

    // T1 → renewing, T2 → rebinding, 120 s → expired: one fake second at a time, bounded.
    let steps = 0;
    for (; steps < 200 && suite.state.find({ ...net(AddressStatusType), id: leased }); steps++) {
      await clock.untilSleeping(1);
      await clock.advance(1000);
      await new Promise((r) => setTimeout(r, 5));
    }
    await assertNoResource(suite.state, { ...net(AddressStatusType), id: leased });
    assert.ok(steps >= 110, `the address stayed until the lease ran out (${steps} s)`);
    await assertNoResource(suite.state, { ...net(RouteStatusType), id: 'inet4/10.27.0.1//1024' });
    assert.doesNotMatch(ipIn(CLI, 'addr', 'show', 'veth-c'), /inet 10\.27\.0\./);
    await assertResources<ResolverStatusSpec>(suite.state, net(ResolverStatusType), {
      ids: ['resolvers'],
      check: (r) => assert.ok(!r.spec.dnsServers.includes('10.27.0.53'), r.spec.dnsServers.join(',')),
    });
  },
);
