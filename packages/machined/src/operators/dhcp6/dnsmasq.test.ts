import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '@talos-ts/testkit';
import { openDhcp6Socket } from '../../linux/dhcp4-socket.ts';
import { Dhcp6Client, type Dhcp6Event } from './client.ts';

// Real dnsmasq as DHCPv6 server across a veth pair between two namespaces this test makes.
const uniq = `${process.pid % 100000}`;
const SRV = `tdhcp-s6-${uniq}`;
const CLI = `tdhcp-c6-${uniq}`;
const canRun = process.getuid?.() === 0 && has('dnsmasq') && has('ip');

function has(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });
const sysctl = (ns: string, kv: string): void => void execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', kv]);

function setupNetns(): Buffer {
  teardownNetns();
  ip('netns', 'add', SRV);
  ip('netns', 'add', CLI);
  ip('link', 'add', 'veth-s', 'netns', SRV, 'type', 'veth', 'peer', 'name', 'veth-c', 'netns', CLI);
  // No duplicate address detection: link-local addresses are usable the moment the links are up.
  sysctl(SRV, 'net.ipv6.conf.veth-s.accept_dad=0');
  sysctl(CLI, 'net.ipv6.conf.veth-c.accept_dad=0');
  ip('-n', SRV, 'addr', 'add', 'fd24::1/64', 'dev', 'veth-s', 'nodad');
  ip('-n', SRV, 'link', 'set', 'veth-s', 'up');
  ip('-n', CLI, 'link', 'set', 'veth-c', 'up');
  const link = JSON.parse(ip('-n', CLI, '-j', 'link', 'show', 'veth-c')) as { address: string }[];
  return Buffer.from(link[0]!.address.replace(/:/g, ''), 'hex');
}

function teardownNetns(): void {
  for (const ns of [SRV, CLI]) {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      // not there
    }
  }
}

class Dnsmasq6 {
  #proc: ChildProcess | undefined;
  log = '';
  readonly #dir = mkdtempSync(join(tmpdir(), 'tdhcp6-'));

  async start(): Promise<void> {
    const conf = join(this.#dir, 'dnsmasq.conf');
    writeFileSync(
      conf,
      [
        'port=0',
        'interface=veth-s',
        'bind-interfaces',
        'dhcp-authoritative',
        `dhcp-leasefile=${join(this.#dir, 'leases')}`,
        'dhcp-range=fd24::100,fd24::1ff,64,2m',
        // Router advertisements: the managed flag and the on-link prefix (the kernel applies them).
        'enable-ra',
        'ra-param=veth-s,3',
        'dhcp-option=option6:dns-server,[fd24::53]',
        'dhcp-option=option6:domain-search,example.test',
        'dhcp-option=option6:ntp-server,[fd24::123]',
      ].join('\n') + '\n',
    );
    const proc = spawn('ip', ['netns', 'exec', SRV, 'dnsmasq', '--no-daemon', '--log-dhcp', `--conf-file=${conf}`, '--user=root'], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.#proc = proc;
    proc.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
    for (let i = 0; i < 100 && !/DHCPv6, IP range/.test(this.log); i++) {
      if (proc.exitCode !== null) throw new Error(`dnsmasq exited: ${this.log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!/DHCPv6, IP range/.test(this.log)) throw new Error(`dnsmasq did not start: ${this.log}`);
  }

  async stop(): Promise<void> {
    const p = this.#proc;
    this.#proc = undefined;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await exited;
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

function until<T>(events: Dhcp6Event[], pred: (e: Dhcp6Event) => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      for (const e of events) {
        const v = pred(e);
        if (v !== undefined) return resolve(v);
      }
      if (Date.now() > deadline) return reject(new Error(`timed out; events: ${events.map((e) => e.type).join(',')}`));
      setTimeout(tick, 20);
    };
    tick();
  });
}

test('dhcp6 against dnsmasq', { skip: !canRun && 'needs root, ip and dnsmasq', timeout: 120_000 }, async (t) => {
  const mac = setupNetns();
  t.after(teardownNetns);
  const netnsPath = `/run/netns/${CLI}`;

  await t.test('dhcp6: an IA_NA lease with DNS, search domain and NTP; renewed at T1; released on stop', async () => {
    const server = new Dnsmasq6();
    await server.start();
    // Real sockets and server; the fake clock only decides when T1 comes.
    const clock = new FakeClock(Date.now());
    const events: Dhcp6Event[] = [];
    const client = new Dhcp6Client({ transport: openDhcp6Socket({ ifname: 'veth-c', hardwareAddress: mac, netnsPath }), clock, onEvent: (e) => events.push(e) });
    try {
      const started = Date.now();
      client.start();
      const lease = await until(events, (e) => (e.type === 'bound' ? e.lease : undefined), 10_000).catch((err: unknown) => {
        throw new Error(`${String(err)}; dnsmasq: ${server.log}`);
      });
      t.diagnostic(`lease obtained in ${Date.now() - started} ms: ${lease.cidr}`);
      assert.match(lease.address, /^fd24::1[0-9a-f]{2}$/);
      assert.equal(lease.prefixLength, 128);
      assert.deepEqual(lease.dns, ['fd24::53']);
      assert.deepEqual(lease.searchDomains, ['example.test']);
      assert.deepEqual(lease.ntp, ['fd24::123']);
      assert.equal(lease.times.validSeconds, 120);
      assert.ok(lease.times.renewSeconds > 0 && lease.times.renewSeconds < lease.times.rebindSeconds, JSON.stringify(lease.times));

      await clock.untilSleeping();
      await clock.advance(lease.times.renewSeconds * 1000);
      const renewed = await until(events, (e) => (e.type === 'renewed' ? e.lease : undefined), 10_000);
      assert.equal(renewed.address, lease.address);
      assert.match(server.log, /DHCPRENEW/);
    } finally {
      await client.stop();
    }
    assert.equal(events.at(-1)?.type, 'released');
    for (let i = 0; i < 50 && !/DHCPRELEASE/.test(server.log); i++) await new Promise((r) => setTimeout(r, 20));
    assert.match(server.log, /DHCPRELEASE/);
    await server.dispose();
  });

  await t.test('dhcp6: with the router advertisement, the leased address has the on-link prefix and a default route', async () => {
    const server = new Dnsmasq6();
    await server.start();
    const events: Dhcp6Event[] = [];
    const client = new Dhcp6Client({
      transport: openDhcp6Socket({ ifname: 'veth-c', hardwareAddress: mac, netnsPath }),
      onEvent: (e) => {
        events.push(e);
        // What the address spec would do with the lease.
        if (e.type === 'bound') ip('-n', CLI, 'addr', 'replace', e.lease.cidr, 'dev', 'veth-c', 'nodad');
      },
    });
    try {
      client.start();
      const lease = await until(events, (e) => (e.type === 'bound' ? e.lease : undefined), 10_000);
      // The RA gives the on-link prefix and a default route through the router (bounded wait).
      let routes = '';
      for (let i = 0; i < 100 && !/fd24::\/64/.test(routes); i++) {
        await new Promise((r) => setTimeout(r, 100));
        routes = ip('-n', CLI, '-6', 'route', 'show');
      }
      // The prefix route from the RA's prefix information expires with it.
      assert.match(routes, /fd24::\/64 dev veth-c .*expires/, routes);
      assert.match(routes, /default via fe80::.* proto ra/, routes);
      const via = ip('-n', CLI, '-6', 'route', 'get', 'fd24::1', 'from', lease.address);
      assert.match(via, /dev veth-c/, via);
    } finally {
      await client.stop();
      await server.dispose();
      ip('-n', CLI, 'addr', 'flush', 'dev', 'veth-c', 'scope', 'global');
    }
  });

  await t.test('dhcp6: with dnsmasq gone, renew then rebind fail and the lease expiry is reported', async () => {
    const server = new Dnsmasq6();
    await server.start();
    const clock = new FakeClock(Date.now());
    const events: Dhcp6Event[] = [];
    const client = new Dhcp6Client({ transport: openDhcp6Socket({ ifname: 'veth-c', hardwareAddress: mac, netnsPath }), clock, onEvent: (e) => events.push(e) });
    try {
      client.start();
      const lease = await until(events, (e) => (e.type === 'bound' ? e.lease : undefined), 10_000);
      await server.stop();
      const states = new Set<string>();
      for (let i = 0; i < 300 && !events.some((e) => e.type === 'expired'); i++) {
        await clock.untilSleeping();
        await clock.advance(1000);
        states.add(client.state);
      }
      const expired = events.find((e) => e.type === 'expired');
      assert.ok(expired && expired.type === 'expired' && expired.reason === 'timeout');
      assert.equal(expired.lease.address, lease.address);
      assert.ok(states.has('renewing') && states.has('rebinding'), [...states].join());
      assert.ok(clock.now() - lease.times.acquiredAtMs >= 120_000);
    } finally {
      await client.stop();
      await server.dispose();
    }
  });
});
