import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '@talos-ts/testkit';
import { createLogger, type LogRecord } from '@talos-ts/cosi';
import { openDhcp4Socket } from '../../linux/dhcp4-socket.ts';
import { Dhcp4Client, type Dhcp4Event } from './client.ts';

// A veth pair between two namespaces this test makes: the server side runs real dnsmasq, the client
// side gets our client's socket (made inside that namespace through the addon).
const uniq = `${process.pid % 100000}`;
const SRV = `tdhcp-srv-${uniq}`;
const CLI = `tdhcp-cli-${uniq}`;
const canRun = process.getuid?.() === 0 && has('dnsmasq') && has('ip');

function has(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8' });
}

function setupNetns(): Buffer {
  teardownNetns();
  ip('netns', 'add', SRV);
  ip('netns', 'add', CLI);
  ip('link', 'add', 'veth-s', 'netns', SRV, 'type', 'veth', 'peer', 'name', 'veth-c', 'netns', CLI);
  ip('-n', SRV, 'addr', 'add', '10.24.0.1/24', 'dev', 'veth-s');
  ip('-n', SRV, 'link', 'set', 'veth-s', 'up');
  ip('-n', SRV, 'link', 'set', 'lo', 'up');
  // The crafted-reply responder broadcasts through a plain socket, which needs a route for 255.255.255.255.
  ip('-n', SRV, 'route', 'add', '255.255.255.255/32', 'dev', 'veth-s');
  // Strict reverse-path filtering on the client side: replies to a link without an address must
  // still arrive (the IP stack would drop them; the client reads them from a packet socket).
  for (const k of ['all', 'default', 'veth-c']) execFileSync('ip', ['netns', 'exec', CLI, 'sysctl', '-qw', `net.ipv4.conf.${k}.rp_filter=1`]);
  ip('-n', CLI, 'link', 'set', 'veth-c', 'up');
  ip('-n', CLI, 'link', 'set', 'lo', 'up');
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

/** Real dnsmasq as the DHCP server on veth-s (no DNS: port 0). */
class Dnsmasq {
  #proc: ChildProcess | undefined;
  log = '';
  readonly #dir = mkdtempSync(join(tmpdir(), 'tdhcp-'));
  constructor(readonly extra: string[]) {}

  async start(): Promise<void> {
    const conf = join(this.#dir, 'dnsmasq.conf');
    writeFileSync(
      conf,
      [
        'port=0',
        'interface=veth-s',
        'bind-interfaces',
        'dhcp-authoritative',
        'no-ping',
        `dhcp-leasefile=${join(this.#dir, 'leases')}`,
        ...this.extra,
      ].join('\n') + '\n',
    );
    const proc = spawn('ip', ['netns', 'exec', SRV, 'dnsmasq', '--no-daemon', '--log-dhcp', `--conf-file=${conf}`, '--user=root'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.#proc = proc;
    proc.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
    // Ready when it has announced its DHCP range.
    for (let i = 0; i < 100 && !/DHCP, IP range/.test(this.log); i++) {
      if (proc.exitCode !== null) throw new Error(`dnsmasq exited: ${this.log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!/DHCP, IP range/.test(this.log)) throw new Error(`dnsmasq did not start: ${this.log}`);
  }

  /** dnsmasq's lease database: `expiry mac address hostname client-id` lines. */
  leases(): string {
    try {
      return readFileSync(join(this.#dir, 'leases'), 'utf8');
    } catch {
      return '';
    }
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

const BASE = [
  'dhcp-range=10.24.0.50,10.24.0.99,255.255.255.0,2m',
  'dhcp-option=option:router,10.24.0.1',
  'dhcp-option=option:dns-server,10.24.0.53,10.24.0.54',
  'dhcp-option=option:ntp-server,10.24.0.123',
  'dhcp-option=option:domain-name,example.test',
  'dhcp-option=option:domain-search,example.test,corp.test',
  'dhcp-option=option:mtu,1400',
  'dhcp-option=option:classless-static-route,10.99.0.0/16,10.24.0.2,0.0.0.0/0,10.24.0.1',
  // dnsmasq's shortest lease is 2 minutes; T1 and T2 make the client come back within seconds.
  'dhcp-option=option:T1,2',
  'dhcp-option=option:T2,4',
];

/** Waits for the first event from index `from` on that `pred` maps to a value. */
function until<T>(events: Dhcp4Event[], pred: (e: Dhcp4Event) => T | undefined, timeoutMs: number, from = 0): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      for (const e of events.slice(from)) {
        const v = pred(e);
        if (v !== undefined) return resolve(v);
      }
      if (Date.now() > deadline) return reject(new Error(`timed out; events: ${events.map((e) => e.type).join(',')}`));
      setTimeout(tick, 20);
    };
    tick();
  });
}

test('dhcp4 against dnsmasq', { skip: !canRun && 'needs root, ip and dnsmasq', timeout: 120_000 }, async (t) => {
  const mac = setupNetns();
  t.after(teardownNetns);
  const netnsPath = `/run/netns/${CLI}`;

  await t.test('dhcp4: a lease is obtained from dnsmasq with every option parsed', async () => {
    const server = new Dnsmasq(BASE);
    await server.start();
    const events: Dhcp4Event[] = [];
    const client = new Dhcp4Client({
      transport: openDhcp4Socket({ ifname: 'veth-c', hardwareAddress: mac, netnsPath }),
      hostname: 'node-a',
      onEvent: (e) => events.push(e),
      initialRetryMs: 500,
    });
    try {
      const started = Date.now();
      client.start();
      const lease = await until(events, (e) => (e.type === 'bound' ? e.lease : undefined), 10_000);
      t.diagnostic(`lease obtained in ${Date.now() - started} ms`);
      assert.match(lease.address, /^10\.24\.0\.(5\d|[6-9]\d)$/);
      assert.equal(lease.prefixLength, 24);
      assert.equal(lease.serverId, '10.24.0.1');
      assert.equal(lease.gateway, '10.24.0.1');
      assert.deepEqual(lease.routes, [
        { destination: '10.99.0.0/16', gateway: '10.24.0.2' },
        { destination: '0.0.0.0/0', gateway: '10.24.0.1' },
      ]);
      assert.deepEqual(lease.dns, ['10.24.0.53', '10.24.0.54']);
      assert.deepEqual(lease.searchDomains, ['example.test', 'corp.test']);
      // A client that sends its name asks for neither name nor domain (options 12, 15), as upstream:
      // dnsmasq would echo the name back as if it were the server's.
      assert.equal(lease.domain, undefined);
      assert.equal(lease.hostname, undefined);
      assert.deepEqual(lease.ntp, ['10.24.0.123']);
      assert.equal(lease.mtu, 1400);
      assert.equal(lease.times.leaseSeconds, 120);
      // dnsmasq adds up to a second of fuzz to T1 so clients do not renew in step.
      assert.ok(lease.times.renewSeconds >= 2 && lease.times.renewSeconds <= 3, String(lease.times.renewSeconds));
      assert.equal(lease.times.rebindSeconds, 4);
      // Our hostname (option 12) reached the server's lease database.
      assert.match(server.leases(), new RegExp(`${lease.address.replace(/\./g, '\\.')} node-a `));
    } finally {
      await client.stop();
      await server.dispose();
    }
    assert.equal(events.at(-1)?.type, 'released');
  });

  await t.test('dhcp4: the lease is renewed at T1, and after dnsmasq was down and back', async () => {
    const server = new Dnsmasq(BASE);
    await server.start();
    const events: Dhcp4Event[] = [];
    const client = new Dhcp4Client({
      transport: openDhcp4Socket({ ifname: 'veth-c', hardwareAddress: mac, netnsPath }),
      onEvent: (e) => {
        events.push(e);
        // What the address spec would do: put the lease on the link so unicast renewals route.
        if (e.type === 'bound') ip('-n', CLI, 'addr', 'replace', e.lease.cidr, 'dev', 'veth-c');
      },
      initialRetryMs: 500,
      minRenewRetryMs: 500,
      maxRenewRetryMs: 1000,
    });
    try {
      client.start();
      const lease = await until(events, (e) => (e.type === 'bound' ? e.lease : undefined), 10_000);
      const renewed = await until(events, (e) => (e.type === 'renewed' ? e : undefined), 10_000);
      assert.equal(renewed.lease.address, lease.address);
      assert.ok(renewed.lease.times.acquiredAtMs > lease.times.acquiredAtMs);

      await server.stop();
      const before = events.length;
      // Past T1 with no server: the client is renewing (then rebinding), still holding the lease.
      await new Promise((r) => setTimeout(r, 4500));
      assert.ok(['renewing', 'rebinding'].includes(client.state), client.state);
      assert.equal(client.lease?.address, lease.address);
      assert.ok(!events.slice(before).some((e) => e.type === 'expired'));

      const back = new Dnsmasq(BASE);
      await back.start();
      try {
        const again = await until(events, (e) => (e.type === 'renewed' ? e : undefined), 10_000, before).catch((err: unknown) => {
          throw new Error(`${String(err)}; state ${client.state}; dnsmasq: ${back.log}`);
        });
        assert.equal(again.lease.address, lease.address);
      } finally {
        await client.stop();
        await back.dispose();
      }
    } finally {
      await client.stop();
      await server.dispose();
      ip('-n', CLI, 'addr', 'flush', 'dev', 'veth-c');
    }
  });

  await t.test('dhcp4: with dnsmasq gone the lease expires and is reported (clock moved by a fake clock)', async () => {
    const server = new Dnsmasq(BASE);
    await server.start();
    const clock = new FakeClock(Date.now());
    const events: Dhcp4Event[] = [];
    const client = new Dhcp4Client({
      transport: openDhcp4Socket({ ifname: 'veth-c', hardwareAddress: mac, netnsPath }),
      clock,
      onEvent: (e) => events.push(e),
    });
    try {
      client.start();
      const lease = await until(events, (e) => (e.type === 'bound' ? e.lease : undefined), 10_000);
      await server.stop();
      // T1 (2 s) → renewing; T2 (4 s) → rebinding; 120 s → expired. Step through them.
      for (let i = 0; i < 200 && !events.some((e) => e.type === 'expired'); i++) {
        await clock.untilSleeping(1);
        await clock.advance(1000);
        if (i === 3) assert.ok(['renewing', 'rebinding'].includes(client.state), client.state);
      }
      const expired = events.find((e) => e.type === 'expired');
      assert.ok(expired && expired.type === 'expired');
      assert.equal(expired.lease.address, lease.address);
      assert.equal(expired.reason, 'timeout');
      assert.equal(client.lease, undefined);
      assert.ok(clock.now() - lease.times.acquiredAtMs >= 120_000);
    } finally {
      await client.stop();
      await server.dispose();
    }
  });

  await t.test('dhcp4: a server that refuses the renewal (NAK) ends the lease at once and a new one is obtained', async () => {
    const server = new Dnsmasq(BASE);
    await server.start();
    const events: Dhcp4Event[] = [];
    const client = new Dhcp4Client({
      transport: openDhcp4Socket({ ifname: 'veth-c', hardwareAddress: mac, netnsPath }),
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'bound') ip('-n', CLI, 'addr', 'replace', e.lease.cidr, 'dev', 'veth-c');
        if (e.type === 'expired') ip('-n', CLI, 'addr', 'del', e.lease.cidr, 'dev', 'veth-c');
      },
      initialRetryMs: 500,
      minRenewRetryMs: 500,
    });
    // An authoritative server whose range no longer holds the address refuses it.
    const moved = new Dnsmasq(BASE.map((l) => (l.startsWith('dhcp-range=') ? 'dhcp-range=10.24.0.150,10.24.0.199,255.255.255.0,2m' : l)));
    try {
      client.start();
      const first = await until(events, (e) => (e.type === 'bound' ? e.lease : undefined), 10_000);
      await server.stop();
      await moved.start();
      const lost = await until(events, (e) => (e.type === 'expired' ? e : undefined), 15_000);
      assert.equal(lost.reason, 'nak');
      assert.equal(lost.lease.address, first.address);
      const next = await until(events, (e) => (e.type === 'bound' && e.lease.address !== first.address ? e.lease : undefined), 10_000);
      assert.match(next.address, /^10\.24\.0\.1[5-9]\d$/);
    } finally {
      await client.stop();
      await server.dispose();
      await moved.dispose();
      ip('-n', CLI, 'addr', 'flush', 'dev', 'veth-c');
    }
  });

  await t.test('dhcp4: garbage options in a reply are ignored with a log line and the lease still forms', async () => {
    // A tiny responder in the server namespace answering with crafted options (real dnsmasq would not).
    const records: LogRecord[] = [];
    const logger = createLogger({ sink: (r) => records.push(r) });
    const responder = spawn(
      'ip',
      ['netns', 'exec', SRV, process.execPath, '-e', RESPONDER],
      { stdio: ['ignore', 'pipe', 'inherit'], cwd: process.cwd() },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        responder.stdout!.once('data', () => resolve());
        responder.once('exit', (c) => reject(new Error(`responder exited ${c}`)));
      });
      const events: Dhcp4Event[] = [];
      const client = new Dhcp4Client({
        transport: openDhcp4Socket({ ifname: 'veth-c', hardwareAddress: mac, netnsPath }),
        logger,
        onEvent: (e) => events.push(e),
        initialRetryMs: 500,
      });
      try {
        client.start();
        const lease = await until(events, (e) => (e.type === 'bound' ? e.lease : undefined), 10_000);
        assert.equal(lease.address, '10.24.0.77');
        assert.equal(lease.prefixLength, 24);
        assert.deepEqual(lease.dns, ['10.24.0.53']);
        assert.equal(lease.mtu, undefined);
        assert.equal(lease.gateway, '10.24.0.1');
        assert.deepEqual(lease.ntp, []);
        const problems = records.filter((r) => r.level === 'warn').map((r) => String(r.problem));
        assert.ok(problems.some((p) => p.includes('option 26')), problems.join('\n'));
        assert.ok(problems.some((p) => p.includes('option 42')), problems.join('\n'));
        assert.ok(problems.some((p) => p.includes('option 121')), problems.join('\n'));
        assert.ok(problems.some((p) => p.includes('truncated')), problems.join('\n'));
      } finally {
        await client.stop();
      }
    } finally {
      responder.kill('SIGTERM');
    }
  });
});

// Responds to DISCOVER/REQUEST on 67 with broken MTU, NTP, route and a truncated last option.
const RESPONDER = `
const dgram = require('node:dgram');
const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
s.bind(67, () => { s.setBroadcast(true); process.stdout.write('ready\\n'); });
s.on('message', (m) => {
  const type = m[240] === 53 ? m[242] : 0;
  const opts = [53, 1, type === 1 ? 2 : 5, 54, 4, 10, 24, 0, 1, 51, 4, 0, 0, 0, 120, 1, 4, 255, 255, 255, 0,
    3, 4, 10, 24, 0, 1, 6, 4, 10, 24, 0, 53, 26, 3, 1, 2, 3, 42, 3, 1, 2, 3, 121, 2, 40, 10, 12, 9];
  const out = Buffer.alloc(240 + opts.length);
  m.copy(out, 0, 0, 240);
  out[0] = 2;
  out.writeUInt32BE(0x0a18004d, 16);
  Buffer.from(opts).copy(out, 240);
  s.send(out, 68, '255.255.255.255');
});
`;
