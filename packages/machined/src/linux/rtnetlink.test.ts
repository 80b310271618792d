import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { ipBytes, ipText, Rtnl, RtnlGroups, RtnlMonitor, type RtnlEvent } from './rtnetlink.ts';

/** A network namespace made for one test, removed when disposed. */
function tempNetns(tag: string): { name: string; path: string } & Disposable {
  const name = `tnet-${tag}-${process.pid}`;
  execFileSync('ip', ['netns', 'add', name]);
  return { name, path: `/run/netns/${name}`, [Symbol.dispose]: () => execFileSync('ip', ['netns', 'del', name]) };
}

const ipIn = (ns: string, ...args: string[]): string => execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

test('ipText/ipBytes: IPv6 text is canonical and round-trips', () => {
  for (const [input, canonical] of [
    ['2001:db8:0:0:0:0:0:1', '2001:db8::1'],
    ['::1', '::1'],
    ['::', '::'],
    ['fe80::1:0:0:1', 'fe80::1:0:0:1'],
    ['2001:db8:0:1:0:0:0:0', '2001:db8:0:1::'],
    ['10.1.2.3', '10.1.2.3'],
  ]) assert.equal(ipText(ipBytes(input as string)), canonical);
});

/** Whether this kernel can make links of `kind` (this machine's has no dummy, vlan or bond modules). */
function kernelHasKind(kind: string): boolean {
  using ns = tempNetns(`probe${kind}`);
  try {
    ipIn(ns.name, 'link', 'add', 'probe0', 'type', kind);
    return true;
  } catch {
    return false;
  }
}

test('Rtnl: creates a bridge, sets MTU and up, adds and removes addresses and routes (table, metric, source, mtu) inside a netns of its own', () => {
  using ns = tempNetns('rtnl');
  using nl = new Rtnl({ netnsPath: ns.path });
  assert.deepEqual(nl.links().map((l) => l.name), ['lo']);
  ipIn(ns.name, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
  nl.createLink({ name: 'br0', kind: 'bridge' });
  const br = nl.links().find((l) => l.name === 'br0');
  const v0 = nl.links().find((l) => l.name === 'v0');
  assert.ok(br && v0);
  assert.equal(br.kind, 'bridge');
  nl.setLink(v0.index, { up: true, mtu: 1400 });
  nl.setLink(nl.links().find((l) => l.name === 'v1')?.index ?? 0, { up: true });
  assert.match(ipIn(ns.name, 'link', 'show', 'v0'), /mtu 1400/);
  nl.addAddress(v0.index, '10.23.0.2/24');
  nl.addAddress(v0.index, '2001:db8::2/64');
  const addrs = nl.addresses().filter((a) => a.linkIndex === v0.index).map((a) => a.address);
  assert.ok(addrs.includes('10.23.0.2/24') && addrs.includes('2001:db8::2/64'), addrs.join(' '));
  const route = { family: 'inet4', dst: '10.99.0.0/16', gateway: '10.23.0.1', src: '10.23.0.2', outLinkIndex: v0.index, tableId: 254, priority: 1024, scope: 'global', protocol: 'static', mtu: 1300 } as const;
  nl.addRoute(route);
  const r = nl.routes().find((x) => x.dst === '10.99.0.0/16');
  assert.deepEqual(
    r && { gw: r.gateway, src: r.src, prio: r.priority, table: r.table, mtu: r.mtu, proto: r.protocol },
    { gw: '10.23.0.1', src: '10.23.0.2', prio: 1024, table: 'main', mtu: 1300, proto: 'static' },
  );
  nl.addRoute({ ...route, dst: '10.98.0.0/16', tableId: 100 });
  assert.match(ipIn(ns.name, 'route', 'show', 'table', '100'), /10\.98\.0\.0\/16 via 10\.23\.0\.1/);
  nl.deleteRoute(route);
  assert.equal(nl.routes().find((x) => x.dst === '10.99.0.0/16'), undefined);
  nl.deleteAddress(v0.index, '10.23.0.2/24');
  nl.deleteAddress(v0.index, '10.23.0.2/24');
  assert.doesNotMatch(ipIn(ns.name, 'addr', 'show', 'v0'), /10\.23\.0\.2/);
  assert.throws(() => nl.addRoute({ ...route, gateway: '192.0.2.1', dst: '10.97.0.0/16' }), /ENETUNREACH/);
  nl.setLink(v0.index, { masterIndex: br.index });
  assert.equal(nl.links().find((l) => l.name === 'v0')?.masterIndex, br.index);
  nl.deleteLink(br.index);
  assert.equal(nl.links().some((l) => l.name === 'br0'), false);
});

test('Rtnl: creates a VLAN on its parent', { skip: kernelHasKind('vlan') ? false : 'this kernel has no 8021q support' }, () => {
  using ns = tempNetns('vlan');
  using nl = new Rtnl({ netnsPath: ns.path });
  ipIn(ns.name, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
  const v0 = nl.links().find((l) => l.name === 'v0');
  nl.createLink({ name: 'v0.10', kind: 'vlan', parentIndex: v0?.index ?? 0, vlan: { vlanID: 10, vlanProtocol: '802.1q' } });
  assert.deepEqual(nl.links().find((l) => l.name === 'v0.10')?.vlan, { vlanID: 10, vlanProtocol: '802.1q' });
});

test('RtnlMonitor: address changes made by `ip` in the netns arrive as notifications without polling', async () => {
  using ns = tempNetns('mon');
  ipIn(ns.name, 'link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd1');
  const events: RtnlEvent[] = [];
  let wake: () => void = () => {};
  using mon = new RtnlMonitor({
    netnsPath: ns.path,
    groups: RtnlGroups.link | RtnlGroups.address,
    onEvent: (e) => {
      events.push(e);
      wake();
    },
  });
  const seen = new Promise<void>((r) => (wake = r));
  ipIn(ns.name, 'addr', 'add', '10.23.1.1/24', 'dev', 'd0');
  await Promise.race([seen, new Promise((_, rej) => setTimeout(() => rej(new Error('no notification in 5 s')), 5000).unref())]);
  assert.ok(events.some((e) => e.address));
  assert.ok(mon.messages >= 1);
});
