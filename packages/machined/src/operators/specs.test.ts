import test from 'node:test';
import assert from 'node:assert/strict';
import type { Dhcp4Lease } from './dhcp4/lease.ts';
import { dhcp4Specs } from './specs.ts';

const lease: Dhcp4Lease = {
  address: '10.24.0.60',
  prefixLength: 24,
  cidr: '10.24.0.60/24',
  serverId: '10.24.0.1',
  gateway: '10.24.0.1',
  routes: [
    { destination: '10.99.0.0/16', gateway: '192.168.9.1' },
    { destination: '0.0.0.0/0', gateway: '10.24.0.1' },
  ],
  dns: ['10.24.0.53'],
  searchDomains: ['example.test'],
  hostname: 'node-a',
  domain: 'example.test',
  ntp: ['10.24.0.123'],
  mtu: 1400,
  times: { acquiredAtMs: 0, leaseSeconds: 120, renewSeconds: 60, rebindSeconds: 105 },
};

test('dhcp4Specs: address, MTU, routes with an on-link route to an off-subnet gateway, resolvers, time servers, all at the operator layer', () => {
  const s = dhcp4Specs(lease, { linkName: 'eth0' });
  assert.deepEqual(s.addresses, [{ address: '10.24.0.60/24', linkName: 'eth0', family: 'inet4', scope: 'global', flags: 'permanent', priority: 1024, layer: 'operator' }]);
  assert.deepEqual(s.links, [{ name: 'eth0', mtu: 1400, up: true, layer: 'operator' }]);
  assert.deepEqual(
    s.routes.map((r) => [r.dst, r.gateway, r.scope, r.src, r.priority]),
    [
      ['10.99.0.0/16', '192.168.9.1', 'global', '10.24.0.60', 1024],
      ['192.168.9.1/32', '', 'link', '10.24.0.60', 1024],
      ['', '10.24.0.1', 'global', '10.24.0.60', 1024],
    ],
  );
  assert.deepEqual(s.hostname, [{ hostname: 'node-a', domainname: 'example.test', layer: 'operator' }]);
  assert.deepEqual(s.resolvers, [{ dnsServers: ['10.24.0.53'], searchDomains: ['example.test'], layer: 'operator' }]);
  assert.deepEqual(s.timeServers, [{ timeServers: ['10.24.0.123'], layer: 'operator' }]);
});

test('dhcp4Specs: skipRoutes, a route metric and a config hostname are honoured', () => {
  const s = dhcp4Specs(lease, { linkName: 'eth1', routeMetric: 50, useRoutes: false, useHostname: false });
  assert.deepEqual(s.routes, []);
  assert.deepEqual(s.hostname, []);
  assert.equal(s.addresses[0]?.priority, 50);
});
