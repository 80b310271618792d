import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TalosError } from '@talos-ts/cosi';
import { Code, hasCode } from '@talos-ts/cosi';
import { generateSecretsBundle } from '@talos-ts/machinery';
import { startEtcdCluster, waitFor, type EtcdTestCluster } from '@talos-ts/testkit';
import { EtcdClient, type EtcdTls } from './client.ts';
import { issueEtcdCertificates } from './pki.ts';
import { acquireUpgradeClaim, parseUpgradeClaim, releaseUpgradeClaimWhenHealthy, UPGRADE_CLAIM_KEY, type UpgradeClaimWait } from './upgrade-claim.ts';
import { validateForUpgrade } from './upgrade-guard.ts';

// The quorum guard and the upgrade claim against a real 3-member etcd cluster (Debian's etcd) on
// this helper's loopback range, 127.0.35.1-3. Members are killed and restarted to make it unhealthy.
// Peers dial from 127.0.0.1 and etcd checks a peer's IP SANs against that source, hence that SAN.

const addresses = ['127.0.35.1', '127.0.35.2', '127.0.35.3'];
let cluster: EtcdTestCluster;
let tls: EtcdTls;

const clientOf = (...endpoints: string[]): EtcdClient => new EtcdClient({ endpoints, tls, timeoutMs: 3000 });
const all = (): EtcdClient => clientOf(...addresses.map((a) => `${a}:2379`));
const node = (i: number, bootId = 'boot-1') => ({ node: `qr-cp-${i}`, peerUrl: `https://127.0.35.${i}:2380`, bootId });

async function healthy(): Promise<void> {
  using c = all();
  await waitFor('a healthy etcd cluster', () => validateForUpgrade(c, { tls, preserve: false }).then(() => true), 30_000);
}

before(async () => {
  const t0 = Date.now();
  const bundle = await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' });
  const ca = { caPem: bundle.certs.etcd.crt, caKeyPem: bundle.certs.etcd.key };
  let admin: { crt: string; key: string } | undefined;
  cluster = await startEtcdCluster({
    addresses,
    namePrefix: 'qr-cp',
    certs: async (m) => {
      const c = await issueEtcdCertificates({ ...ca, hostname: m.name, sans: [m.address, '127.0.0.1'], nowMs: Date.now(), lifetimeMs: 3600_000 });
      admin ??= c.admin;
      return c;
    },
  });
  tls = { ca: bundle.certs.etcd.crt, crt: admin!.crt, key: admin!.key };
  await healthy();
  process.stderr.write(`# 3-member etcd cluster healthy in ${Date.now() - t0} ms\n`);
});

after(async () => {
  await cluster?.[Symbol.asyncDispose]();
});

test('quorum guard: a healthy 3-member cluster lets one control plane go, with or without --preserve', async () => {
  using c = all();
  await validateForUpgrade(c, { tls, preserve: false });
  await validateForUpgrade(c, { tls, preserve: true });
});

test('quorum guard: with one of 3 members down the upgrade is refused (FailedPrecondition naming that member)', async () => {
  const down = cluster.members[2]!;
  await down.kill();
  try {
    using c = clientOf(`${addresses[0]}:2379`);
    const t0 = Date.now();
    await assert.rejects(validateForUpgrade(c, { tls, preserve: true }), (err: unknown) => {
      assert.ok(hasCode(err, Code.FailedPrecondition), String(err));
      const msg = (err as Error).message;
      assert.match(msg, /qr-cp-3: not healthy \(https:\/\/127\.0\.35\.3:2379\)/);
      assert.doesNotMatch(msg, /qr-cp-1:|qr-cp-2:/);
      assert.match(msg, /--force/);
      assert.deepEqual(((err as TalosError).details?.['problems'] as { member: string }[]).map((p) => p.member), ['qr-cp-3']);
      return true;
    });
    process.stderr.write(`# guard refused in ${Date.now() - t0} ms with a member down\n`);
  } finally {
    await down.restart();
    await healthy();
  }
});

test('upgrade claim: a node asking while etcd is unhealthy and nobody upgrades is refused at once, and leaves no claim', async () => {
  const down = cluster.members[1]!;
  await down.kill();
  try {
    using c = clientOf(`${addresses[0]}:2379`);
    const t0 = Date.now();
    await assert.rejects(
      acquireUpgradeClaim(c, { self: node(1), actorId: 'a1', validate: (signal) => validateForUpgrade(c, { tls, preserve: false, signal }), timeoutMs: 60_000, pollMs: 100 }),
      (err: unknown) => hasCode(err, Code.FailedPrecondition) && /qr-cp-2/.test((err as Error).message),
    );
    assert.ok(Date.now() - t0 < 10_000, 'refused without waiting for the timeout');
    assert.equal(await c.get(UPGRADE_CLAIM_KEY), undefined);
  } finally {
    await down.restart();
    await healthy();
  }
});

test('upgrade claim: of two control planes asked at once, one proceeds; the other waits, with progress, until the first released it', async () => {
  using c1 = clientOf(`${addresses[0]}:2379`);
  using c2 = clientOf(`${addresses[1]}:2379`);
  const validate1 = (signal: AbortSignal) => validateForUpgrade(c1, { tls, preserve: false, signal });
  const validate2 = (signal: AbortSignal) => validateForUpgrade(c2, { tls, preserve: false, signal });
  const order: string[] = [];
  const waits: Record<string, UpgradeClaimWait[]> = { 'qr-cp-1': [], 'qr-cp-2': [] };
  const a = acquireUpgradeClaim(c1, { self: node(1), actorId: 'actor-1', validate: validate1, pollMs: 100, timeoutMs: 60_000, onWait: (w) => waits['qr-cp-1']!.push(w) }).then((h) => (order.push(`acquired ${h.record.node}`), h));
  const b = acquireUpgradeClaim(c2, { self: node(2), actorId: 'actor-2', validate: validate2, pollMs: 100, timeoutMs: 60_000, onWait: (w) => waits['qr-cp-2']!.push(w) }).then(
    (h) => (order.push(`acquired ${h.record.node}`), h),
  );
  const first = await Promise.race([a, b]);
  // Hold it a while: the other must still be waiting, reporting who it waits for.
  await new Promise((r) => setTimeout(r, 1500));
  assert.deepEqual(order, [`acquired ${first.record.node}`]);
  assert.equal(parseUpgradeClaim(await c1.get(UPGRADE_CLAIM_KEY))?.node, first.record.node);
  const other = first.record.node === 'qr-cp-1' ? 'qr-cp-2' : 'qr-cp-1';
  assert.ok(waits[other]!.length >= 3, `progress while waiting (${waits[other]!.length} reports)`);
  assert.equal(waits[first.record.node]!.length, 0);
  assert.ok(waits[other]!.some((w) => w.holder?.node === first.record.node && w.reason.includes(`${first.record.node} (https://`)), 'the waiter names who holds the claim');
  const released = Date.now();
  order.push(`released ${first.record.node}`);
  assert.equal(await first.release(), true);
  const second = first.record.node === 'qr-cp-1' ? await b : await a;
  process.stderr.write(`# second upgrade took the claim ${Date.now() - released} ms after the first released it\n`);
  assert.deepEqual(order, [`acquired ${first.record.node}`, `released ${first.record.node}`, `acquired ${other}`]);
  assert.equal(parseUpgradeClaim(await c1.get(UPGRADE_CLAIM_KEY))?.node, other);
  assert.equal(await first.release(), false, 'releasing again does not remove the other node\'s claim');
  assert.equal(await second.release(), true);
});

test('upgrade claim: a claim whose node never comes back ends the wait with DeadlineExceeded naming it; the caller giving up is Canceled', async () => {
  using c = all();
  const stale = await acquireUpgradeClaim(c, { self: node(3), actorId: 'gone', validate: (s) => validateForUpgrade(c, { tls, preserve: false, signal: s }), pollMs: 100 });
  try {
    const t0 = Date.now();
    await assert.rejects(
      acquireUpgradeClaim(c, { self: node(1), actorId: 'a', validate: () => Promise.resolve(), timeoutMs: 1500, pollMs: 200 }),
      (err: unknown) => hasCode(err, Code.DeadlineExceeded) && /qr-cp-3 \(https:\/\/127\.0\.35\.3:2380\) holds the etcd upgrade claim since/.test((err as Error).message) && /--force/.test((err as Error).message),
    );
    const took = Date.now() - t0;
    assert.ok(took >= 1400 && took < 6000, `bounded wait (${took} ms)`);
    process.stderr.write(`# stale claim: wait ended after ${took} ms (timeout 1500 ms)\n`);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    await assert.rejects(
      acquireUpgradeClaim(c, { self: node(1), actorId: 'a', validate: () => Promise.resolve(), timeoutMs: 60_000, pollMs: 100, signal: ac.signal }),
      (err: unknown) => hasCode(err, Code.Canceled),
    );
    // A second upgrade of the holder itself in the same boot is refused, not queued behind itself.
    await assert.rejects(
      acquireUpgradeClaim(c, { self: node(3), actorId: 'again', validate: () => Promise.resolve() }),
      (err: unknown) => hasCode(err, Code.FailedPrecondition) && /already under way/.test((err as Error).message),
    );
  } finally {
    await stale.release();
  }
});

test('upgrade claim: after its reboot the node removes its claim only once etcd is healthy again, and never another boot\'s or node\'s', async () => {
  using c = all();
  const held = await acquireUpgradeClaim(c, { self: node(3, 'before-reboot'), actorId: 'up-3', validate: (s) => validateForUpgrade(c, { tls, preserve: true, signal: s }) });
  const mine = (claim: { peerUrl: string; bootId: string }): boolean => claim.peerUrl === node(3).peerUrl && claim.bootId !== 'after-reboot';
  // The same boot (no reboot yet) does not release it; another node does not either.
  {
    const ac = new AbortController();
    assert.equal(await releaseUpgradeClaimWhenHealthy(c, { mine: (cl) => cl.bootId !== 'before-reboot' && mine(cl), healthy: () => Promise.resolve(), signal: ac.signal }), undefined);
    assert.equal(await releaseUpgradeClaimWhenHealthy(c, { mine: (cl) => cl.peerUrl === node(1).peerUrl, healthy: () => Promise.resolve(), signal: ac.signal }), undefined);
    assert.equal(parseUpgradeClaim(await c.get(UPGRADE_CLAIM_KEY))?.actorId, 'up-3');
  }
  // The node "reboots": its member is down, so etcd is not healthy and the claim stays.
  const member = cluster.members[2]!;
  await member.kill();
  using c1 = clientOf(`${addresses[0]}:2379`, `${addresses[1]}:2379`);
  const ac = new AbortController();
  let releasedAt = 0;
  const releasing = releaseUpgradeClaimWhenHealthy(c1, { mine, healthy: (signal) => validateForUpgrade(c1, { tls, preserve: true, signal, memberTimeoutMs: 1000 }), signal: ac.signal, pollMs: 200, onReleased: () => (releasedAt = Date.now()) });
  const timer = setTimeout(() => ac.abort(), 60_000);
  try {
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(releasedAt, 0, 'not released while its member is down');
    assert.equal(parseUpgradeClaim(await c1.get(UPGRADE_CLAIM_KEY))?.actorId, 'up-3');
    const back = Date.now();
    await member.restart();
    const released = await releasing;
    assert.equal(released?.actorId, 'up-3');
    process.stderr.write(`# claim released ${releasedAt - back} ms after the member came back\n`);
    assert.equal(await c1.get(UPGRADE_CLAIM_KEY), undefined);
    assert.equal(await held.release(), false);
  } finally {
    clearTimeout(timer);
    ac.abort();
    await healthy();
  }
});

test('quorum guard: a single member may upgrade only with --preserve (it cannot leave); a 2-member cluster is refused (upstream\'s rules)', async () => {
  const bundle = await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' });
  for (const addrs of [['127.0.35.4'], ['127.0.35.5', '127.0.35.6']]) {
    let admin: { crt: string; key: string } | undefined;
    await using small = await startEtcdCluster({
      addresses: addrs,
      namePrefix: `qr-small${addrs.length}`,
      certs: async (m) => {
        const c = await issueEtcdCertificates({ caPem: bundle.certs.etcd.crt, caKeyPem: bundle.certs.etcd.key, hostname: m.name, sans: [m.address, '127.0.0.1'], nowMs: Date.now(), lifetimeMs: 3600_000 });
        admin ??= c.admin;
        return c;
      },
    });
    const smallTls = { ca: bundle.certs.etcd.crt, crt: admin!.crt, key: admin!.key };
    using c = new EtcdClient({ endpoints: small.members.map((m) => m.clientEndpoint), tls: smallTls, timeoutMs: 3000 });
    await waitFor('the small cluster answers', () => c.get('health').then(() => true), 30_000);
    if (addrs.length === 1) {
      await validateForUpgrade(c, { tls: smallTls, preserve: true });
      await assert.rejects(validateForUpgrade(c, { tls: smallTls, preserve: false }), (err: unknown) => hasCode(err, Code.FailedPrecondition) && /only member .*--preserve/.test((err as Error).message));
    } else {
      for (const preserve of [true, false]) {
        await assert.rejects(validateForUpgrade(c, { tls: smallTls, preserve }), (err: unknown) => hasCode(err, Code.FailedPrecondition) && /2 members/.test((err as Error).message));
      }
    }
  }
});
