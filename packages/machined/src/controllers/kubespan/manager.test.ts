import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  KubeSpanConfigId,
  KubeSpanConfigType,
  KubeSpanLocalIdentityId,
  KubeSpanPeerSpecType,
  KubeSpanPeerStatusType,
  NamespaceName,
  newKubeSpanConfig,
  newKubeSpanIdentity,
  newKubeSpanPeerSpec,
  type KubeSpanConfigSpec,
  type KubeSpanPeerStatusSpec,
} from '@talos-ts/machinery';
import { FakeClock, assertResources, startControllerSuite } from '@talos-ts/testkit';
import type { WireGuardDeviceConfig } from '../../linux/wireguard.ts';
import { kubeSpanAddress } from './address.ts';
import { generateWireGuardKeyPair } from './keys.ts';
import { KubeSpanManagerController, kernelFirewall, type KubeSpanLink, type WireGuardObservation } from './manager.ts';
import { ENDPOINT_CONNECTION_TIMEOUT_MS, PEER_DOWN_INTERVAL_MS, PEER_RECONCILE_INTERVAL_MS } from './peer-state.ts';

// The host kernel has no WireGuard, so the link is a stand-in that "shakes hands" only while it is
// pointed at the peer's real endpoint; the nftables chains and fwmark rules are the real kernel's,
// in a network namespace of our own (tks-mgr-<pid>).
const ns = `tks-mgr-${process.pid}`;
const nft = (): string => execFileSync('ip', ['netns', 'exec', ns, 'nft', 'list', 'ruleset'], { encoding: 'utf8' });

class StandInLink implements KubeSpanLink {
  device: WireGuardDeviceConfig | undefined;
  removed = 0;
  alive = true;
  readonly #handshakes = new Map<string, number>();
  constructor(
    readonly clock: FakeClock,
    readonly reachable: string,
  ) {}
  async peers(): Promise<ReadonlyMap<string, WireGuardObservation> | undefined> {
    if (!this.device) return undefined;
    const out = new Map<string, WireGuardObservation>();
    for (const p of this.device.peers) {
      if (this.alive && p.endpoint === this.reachable) this.#handshakes.set(p.publicKey, this.clock.now());
      out.set(p.publicKey, { endpoint: p.endpoint ?? '', lastHandshakeMs: this.#handshakes.get(p.publicKey), receiveBytes: 0, transmitBytes: 0 });
    }
    return out;
  }
  readonly calls: WireGuardDeviceConfig[] = [];
  async configure(device: WireGuardDeviceConfig): Promise<void> {
    this.calls.push(device);
    // As the kernel: without replacePeers, listed peers are updated in place (a peer left without an
    // endpoint keeps its own), `remove` drops one, and unlisted peers stay.
    const peers = new Map(device.replacePeers ? [] : (this.device?.peers ?? []).map((p) => [p.publicKey, p]));
    for (const p of device.peers) {
      if (p.remove) {
        peers.delete(p.publicKey);
        this.#handshakes.delete(p.publicKey);
        continue;
      }
      const endpoint = p.endpoint ?? peers.get(p.publicKey)?.endpoint;
      peers.set(p.publicKey, { ...p, ...(endpoint ? { endpoint } : {}) });
    }
    this.device = { ...device, peers: [...peers.values()] };
  }
  async remove(): Promise<void> {
    this.device = undefined;
    this.removed++;
  }
}

const cfg = (over: Partial<KubeSpanConfigSpec> = {}): KubeSpanConfigSpec => ({
  enabled: true,
  clusterId: 'cluster-1',
  sharedSecret: Buffer.alloc(32, 7).toString('base64'),
  forceRouting: false,
  advertiseKubernetesNetworks: false,
  mtu: 0,
  endpointFilters: [],
  harvestExtraEndpoints: false,
  extraEndpoints: [],
  excludeAdvertisedNetworks: [],
  ...over,
});

test('kubespan.ManagerController: a wrong first endpoint rotates to the working one on the fake clock; allowDownPeerBypass unmarks a down peer; off tears everything down', async (t) => {
  execFileSync('ip', ['netns', 'add', ns]);
  t.after(() => execFileSync('ip', ['netns', 'del', ns]));
  using firewall = kernelFirewall({ netnsPath: `/var/run/netns/${ns}` });
  const clock = new FakeClock();
  const link = new StandInLink(clock, '10.5.0.3:51820');
  await using suite = startControllerSuite({ controllers: [new KubeSpanManagerController({ link, firewall })], clock });
  const me = generateWireGuardKeyPair();
  const peer = generateWireGuardKeyPair().publicKey;
  const { address, subnet } = kubeSpanAddress('cluster-1', '52:54:00:00:00:01');
  suite.state.create(newKubeSpanConfig(cfg()));
  suite.state.create(newKubeSpanIdentity(KubeSpanLocalIdentityId, { address, subnet, ...me }));
  suite.state.create(newKubeSpanPeerSpec(peer, { address: 'fd00::3', allowedIPs: ['10.5.0.3/32'], endpoints: ['192.0.2.1:51820', '10.5.0.3:51820'], label: 'w1' }));
  const kind = { namespace: NamespaceName.kubespan, type: KubeSpanPeerStatusType };
  const status = async (want: Partial<KubeSpanPeerStatusSpec>) =>
    assertResources<KubeSpanPeerStatusSpec>(suite.state, kind, {
      ids: [peer],
      check: (r) => assert.deepEqual(Object.fromEntries(Object.keys(want).map((k) => [k, r.spec[k as keyof KubeSpanPeerStatusSpec]])), want),
    });

  await status({ state: 'unknown', endpoint: '192.0.2.1:51820', label: 'w1' });
  assert.equal(link.device?.peers[0]?.endpoint, '192.0.2.1:51820');
  assert.equal(link.device?.firewallMark, 0x20);
  assert.equal(link.device?.listenPort, 51820);
  assert.doesNotMatch(nft(), /10\.5\.0\.3/, 'not up yet and bypass allowed: not marked');

  await clock.advance(PEER_RECONCILE_INTERVAL_MS);
  assert.ok(PEER_RECONCILE_INTERVAL_MS > ENDPOINT_CONNECTION_TIMEOUT_MS);
  await status({ state: 'unknown', endpoint: '10.5.0.3:51820', lastUsedEndpoint: '10.5.0.3:51820' });

  await clock.advance(PEER_RECONCILE_INTERVAL_MS);
  await status({ state: 'up', endpoint: '10.5.0.3:51820' });
  assert.match(nft(), /ip daddr \{ 10\.5\.0\.3 \} meta mark set/, 'up: its traffic is marked into the KubeSpan table');

  // The peer dies: once no handshake for the down interval, it is down and, with the bypass, unmarked.
  link.alive = false;
  const lastUp = clock.now();
  const current = () => suite.state.list<KubeSpanPeerStatusSpec>(kind)[0]?.spec;
  for (let i = 0; i < 20 && current()?.lastUsedEndpoint === '10.5.0.3:51820'; i++) await clock.advance(PEER_RECONCILE_INTERVAL_MS);
  assert.equal(current()?.lastUsedEndpoint, '192.0.2.1:51820', 'rotated away once the peer was down');
  const downAfter = Date.parse(current()!.lastEndpointChange) - lastUp;
  assert.ok(downAfter > PEER_DOWN_INTERVAL_MS && downAfter <= PEER_DOWN_INTERVAL_MS + PEER_RECONCILE_INTERVAL_MS, `rotated ${downAfter} ms after the last handshake`);
  assert.notEqual(current()?.state, 'up');
  assert.doesNotMatch(nft(), /10\.5\.0\.3/);

  // Without the bypass (force routing) the address stays marked whatever the peer's state.
  suite.state.modify<KubeSpanConfigSpec>({ namespace: NamespaceName.config, type: KubeSpanConfigType, id: KubeSpanConfigId }, (d) => {
    d.spec = cfg({ forceRouting: true });
  });
  await clock.advance(1);
  for (let i = 0; i < 50 && !/10\.5\.0\.3/.test(nft()); i++) await new Promise((r) => setTimeout(r, 20));
  assert.match(nft(), /ip daddr \{ 10\.5\.0\.3 \}/);

  suite.state.modify<KubeSpanConfigSpec>({ namespace: NamespaceName.config, type: KubeSpanConfigType, id: KubeSpanConfigId }, (d) => {
    d.spec = cfg({ enabled: false });
  });
  await assertResources(suite.state, kind, { ids: [], exact: true });
  assert.equal(nft(), '');
  assert.equal(link.removed, 1);
});

test('kubespan.ManagerController: peers are updated in place on every reconcile and a gone peer is removed by key, never by replacing them all', async (t) => {
  const ns2 = `tks-mgr2-${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns2]);
  t.after(() => execFileSync('ip', ['netns', 'del', ns2]));
  using firewall = kernelFirewall({ netnsPath: `/var/run/netns/${ns2}` });
  const clock = new FakeClock();
  const link = new StandInLink(clock, '10.5.0.3:51820');
  await using suite = startControllerSuite({ controllers: [new KubeSpanManagerController({ link, firewall })], clock });
  const { address, subnet } = kubeSpanAddress('cluster-1', '52:54:00:00:00:01');
  suite.state.create(newKubeSpanConfig(cfg()));
  suite.state.create(newKubeSpanIdentity(KubeSpanLocalIdentityId, { address, subnet, ...generateWireGuardKeyPair() }));
  const stays = generateWireGuardKeyPair().publicKey;
  const goes = generateWireGuardKeyPair().publicKey;
  suite.state.create(newKubeSpanPeerSpec(stays, { address: 'fd00::3', allowedIPs: ['10.5.0.3/32'], endpoints: ['10.5.0.3:51820'], label: 'stays' }));
  suite.state.create(newKubeSpanPeerSpec(goes, { address: 'fd00::4', allowedIPs: ['10.5.0.4/32'], endpoints: ['10.5.0.4:51820'], label: 'goes' }));
  const kind = { namespace: NamespaceName.kubespan, type: KubeSpanPeerStatusType };
  await assertResources(suite.state, kind, { ids: [stays, goes] });
  await clock.advance(PEER_RECONCILE_INTERVAL_MS);
  await assertResources<KubeSpanPeerStatusSpec>(suite.state, kind, { ids: [stays], check: (r) => assert.equal(r.spec.state, 'up') });
  suite.state.destroy({ namespace: NamespaceName.kubespan, type: KubeSpanPeerSpecType, id: goes });
  await assertResources(suite.state, kind, { ids: [stays], exact: true });
  for (let i = 0; i < 50 && link.device?.peers.some((p) => p.publicKey === goes); i++) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(link.device?.peers.map((p) => p.publicKey), [stays]);
  assert.ok(link.calls.length >= 3);
  assert.ok(link.calls.every((c) => c.replacePeers !== true), 'no SET_DEVICE replaced the peer list');
  assert.deepEqual(link.calls.at(-1)?.peers.filter((p) => p.remove).map((p) => p.publicKey), [goes]);
});
