import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DiscoveryState } from './state.ts';
import { ipBytes, peerIp } from './server.ts';
import { IpRateLimiter } from './ratelimit.ts';

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

test('DiscoveryState: endpoints expire on their own TTL, affiliates on theirs, and watchers hear both', () => {
  const c = clock();
  const s = new DiscoveryState({ now: c.now });
  const changed: string[] = [];
  s.subscribe('c', { changed: (id) => changed.push(id) });
  s.update('c', 'a', { data: Uint8Array.of(1), endpoints: [Uint8Array.of(1)], ttlMs: 10_000 });
  c.advance(5_000);
  // Endpoint-only refresh with a short TTL: the new endpoint dies first.
  s.update('c', 'a', { endpoints: [Uint8Array.of(2)], ttlMs: 1_000 });
  assert.deepEqual(changed, ['a', 'a']);
  c.advance(2_000);
  assert.equal(s.gc(), 0);
  assert.deepEqual(s.list('c')[0]?.endpoints.map((e) => [...e]), [[1]]);
  assert.deepEqual(changed, ['a', 'a', 'a']);
  c.advance(10_000);
  assert.equal(s.gc(), 1);
  assert.equal(s.get('c', 'a'), undefined);
  assert.deepEqual(changed, ['a', 'a', 'a', 'a']);
});

test('DiscoveryState: a refresh with identical data and endpoints tells no watcher', () => {
  const s = new DiscoveryState();
  let n = 0;
  s.subscribe('c', { changed: () => n++ });
  s.update('c', 'a', { data: Uint8Array.of(1, 2), endpoints: [Uint8Array.of(3)], ttlMs: 1000 });
  s.update('c', 'a', { data: Uint8Array.of(1, 2), endpoints: [Uint8Array.of(3)], ttlMs: 1000 });
  assert.equal(n, 1);
});

test('DiscoveryState: empty clusters are dropped once the last watcher leaves', () => {
  const s = new DiscoveryState();
  const { unsubscribe } = s.subscribe('c', { changed: () => {} });
  assert.equal(s.stats().clusters, 1);
  unsubscribe();
  assert.equal(s.stats().clusters, 0);
  s.update('c', 'a', { data: Uint8Array.of(1), endpoints: [], ttlMs: 1000 });
  s.delete('c', 'a');
  assert.equal(s.clusters.size, 0);
});

test('DiscoveryState: export/import round-trips and skips what expired meanwhile', () => {
  const c = clock();
  const s = new DiscoveryState({ now: c.now });
  s.update('c', 'long', { data: Uint8Array.of(9), endpoints: [Uint8Array.of(7)], ttlMs: 60_000 });
  s.update('c', 'short', { data: Uint8Array.of(8), endpoints: [], ttlMs: 1_000 });
  const snap = JSON.parse(JSON.stringify(s.export()));
  c.advance(5_000);
  const t = new DiscoveryState({ now: c.now });
  assert.equal(t.import(snap), 1);
  assert.deepEqual([...(t.get('c', 'long')?.data ?? [])], [9]);
  assert.equal(t.clusters.get('c')?.affiliates.get('long')?.expiresAt, 1_000_000 + 60_000);
});

test('peerIp/ipBytes: IPv4, IPv6 and v4-mapped peers become 4 or 16 bytes', () => {
  assert.equal(peerIp('10.0.0.1:4000'), '10.0.0.1');
  assert.equal(peerIp('::ffff:10.0.0.1:4000'), '10.0.0.1');
  assert.equal(peerIp('::1:4000'), '::1');
  assert.equal(peerIp('unknown'), '');
  assert.deepEqual([...ipBytes('10.0.0.1')], [10, 0, 0, 1]);
  assert.deepEqual([...ipBytes('::1')], [...new Array(15).fill(0), 1]);
  assert.deepEqual([...ipBytes('2001:db8::ff:1')], [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0, 1]);
  assert.deepEqual([...ipBytes('::ffff:1.2.3.4')].slice(10), [0xff, 0xff, 1, 2, 3, 4]);
  assert.equal(ipBytes('nope').length, 0);
});

test('IpRateLimiter: burst then refill per second; full buckets are pruned', () => {
  const c = clock(0);
  const l = new IpRateLimiter({ perSecond: 15, burst: 60 }, c.now);
  let ok = 0;
  for (let i = 0; i < 100; i++) if (l.take('1.1.1.1')) ok++;
  assert.equal(ok, 60);
  assert.equal(l.take('2.2.2.2'), true, 'other IPs have their own bucket');
  c.advance(1000);
  ok = 0;
  for (let i = 0; i < 100; i++) if (l.take('1.1.1.1')) ok++;
  assert.equal(ok, 15);
  c.advance(4000);
  l.prune();
  assert.equal(l.size, 0);
});
