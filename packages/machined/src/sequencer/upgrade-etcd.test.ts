import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import type { Any } from '@bufbuild/protobuf/wkt';
import { Code, hasCode, nullLogger } from '@talos-ts/cosi';
import { generateSecretsBundle, machinePb } from '@talos-ts/machinery';
import { startEtcdCluster, waitFor, type EtcdTestCluster } from '@talos-ts/testkit';
import { EtcdClient, type EtcdTls } from '../etcd/client.ts';
import { EtcdManager } from '../etcd/etcd.ts';
import { issueEtcdCertificates } from '../etcd/pki.ts';
import { parseUpgradeClaim, UPGRADE_CLAIM_KEY } from '../etcd/upgrade-claim.ts';
import { validateForUpgrade } from '../etcd/upgrade-guard.ts';
import { EventBus } from '../events/bus.ts';
import type { MachineRuntime } from './runtime.ts';
import { claimEtcdForUpgrade } from './upgrade-etcd.ts';

// The Upgrade call's etcd step as the node runs it (its EtcdManager, events and logger) against a
// real 3-member etcd cluster on 127.0.35.11-13; a node's "reboot" is a new EtcdManager (a new boot
// id) for the same member, as a new machined cycle makes.

const addresses = ['127.0.35.11', '127.0.35.12', '127.0.35.13'];
const root = mkdtempSync(join(tmpdir(), 'qr-upgrade-etcd-'));
let cluster: EtcdTestCluster;
let tls: EtcdTls;

/** A control plane's runtime as claimEtcdForUpgrade reads it: config type, its etcd member, events. */
function controlPlane(i: number) {
  const address = addresses[i]!;
  const dir = join(root, `n${i}`);
  mkdirSync(join(dir, 'data'), { recursive: true });
  writeFileSync(join(dir, 'data', 'member'), 'etcd has run here');
  for (const [f, pem] of [['ca.crt', tls.ca], ['admin.crt', tls.crt], ['admin.key', tls.key]] as const) writeFileSync(join(dir, f), pem);
  const boot = (): EtcdManager =>
    new EtcdManager({ spec: () => ({ name: `qr-cp-${i + 1}`, advertisedAddresses: [address], listenPeerAddresses: [address], listenClientAddresses: [address], image: '', extraArgs: {} }), certsDir: dir, dataDir: join(dir, 'data'), recoverSnapshotPath: join(dir, 'snap'), peers: () => Promise.resolve([]), supervisor: () => undefined, logger: nullLogger });
  const events = new EventBus();
  const runtime = { cycle: { etcd: boot(), config: { config: { config: { machine: { type: 'controlplane' } } } } }, logger: nullLogger, events } as unknown as MachineRuntime;
  return { runtime, events, reboot: () => ((runtime.cycle as { etcd: EtcdManager }).etcd = boot()) };
}

async function history(events: EventBus): Promise<string[]> {
  const ac = new AbortController();
  const out: string[] = [];
  const timer = setTimeout(() => ac.abort(), 30);
  for await (const e of events.subscribe({ signal: ac.signal, tailEvents: -1 })) {
    if (e.type !== 'machine.MachineStatusEvent') continue;
    const s = fromBinary(machinePb.MachineStatusEventSchema, (e.payload as Any).value);
    out.push(`${machinePb.MachineStatusEvent_MachineStage[s.stage]} ${s.status?.unmetConditions.map((u) => `${u.name}: ${u.reason}`).join(', ')}`);
  }
  clearTimeout(timer);
  return out;
}

before(async () => {
  const bundle = await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' });
  let admin: { crt: string; key: string } | undefined;
  cluster = await startEtcdCluster({
    addresses,
    namePrefix: 'qr-cp',
    certs: async (m) => {
      const c = await issueEtcdCertificates({ caPem: bundle.certs.etcd.crt, caKeyPem: bundle.certs.etcd.key, hostname: m.name, sans: [m.address, '127.0.0.1'], nowMs: Date.now(), lifetimeMs: 3600_000 });
      admin ??= c.admin;
      return c;
    },
  });
  tls = { ca: bundle.certs.etcd.crt, crt: admin!.crt, key: admin!.key };
  using c = new EtcdClient({ endpoints: addresses.map((a) => `${a}:2379`), tls, timeoutMs: 3000 });
  await waitFor('a healthy etcd cluster', () => validateForUpgrade(c, { tls, preserve: false }).then(() => true), 30_000);
});

after(async () => {
  await cluster?.[Symbol.asyncDispose]();
  rmSync(root, { recursive: true, force: true });
});

test('Upgrade on two control planes at once: the second waits (MachineStatusEvent progress) until the first is back after its reboot and released the claim', async () => {
  const cp1 = controlPlane(0);
  const cp2 = controlPlane(1);
  const ac = new AbortController();
  const first = await claimEtcdForUpgrade(cp1.runtime, { preserve: false, force: false, actorId: 'up-1', signal: ac.signal, pollMs: 100 });
  assert.equal(first?.record.node, 'qr-cp-1');
  let secondAt = 0;
  const second = claimEtcdForUpgrade(cp2.runtime, { preserve: false, force: false, actorId: 'up-2', signal: ac.signal, pollMs: 100 }).then((c) => ((secondAt = Date.now()), c));
  await new Promise((r) => setTimeout(r, 800));
  assert.equal(secondAt, 0, 'the second control plane waits');
  const progress = await history(cp2.events);
  assert.ok(progress.some((p) => /^UPGRADING etcdUpgradeClaim: waiting: qr-cp-1 \(https:\/\/127\.0\.35\.11:2380\) holds the etcd upgrade claim/.test(p)), progress.join('\n'));
  // cp1 "reboots": its member goes down, then comes back under a new boot id, which releases its claim once etcd is healthy.
  const member = cluster.members[0]!;
  await member.kill();
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(secondAt, 0, 'still waiting while the first is down');
  const back = Date.now();
  await member.restart();
  const etcd = cp1.reboot();
  const releasing = new AbortController();
  const release = etcd.releaseUpgradeClaimAfterReboot(addresses.map((a) => `${a}:2379`), releasing.signal);
  const claim2 = await second;
  process.stderr.write(`# second control plane took the claim ${secondAt - back} ms after the first came back\n`);
  assert.equal(claim2?.record.node, 'qr-cp-2');
  releasing.abort();
  await release;
  assert.equal(await claim2?.release(), true);
});

test('Upgrade of a control plane while another member is down is refused before anything starts; --force skips the check; a worker is not checked', async () => {
  const cp3 = controlPlane(2);
  const member = cluster.members[1]!;
  await member.kill();
  try {
    await assert.rejects(
      claimEtcdForUpgrade(cp3.runtime, { preserve: true, force: false, actorId: 'up-3', signal: new AbortController().signal }),
      (err: unknown) => hasCode(err, Code.FailedPrecondition) && /qr-cp-2: not healthy/.test((err as Error).message),
    );
    assert.equal(await claimEtcdForUpgrade(cp3.runtime, { preserve: true, force: true, actorId: 'up-3f', signal: new AbortController().signal }), undefined);
    const worker = { ...cp3.runtime, cycle: { ...cp3.runtime.cycle, config: { config: { config: { machine: { type: 'worker' } } } } } } as unknown as MachineRuntime;
    assert.equal(await claimEtcdForUpgrade(worker, { preserve: false, force: false, actorId: 'w', signal: new AbortController().signal }), undefined);
    using c = new EtcdClient({ endpoints: [`${addresses[0]}:2379`], tls });
    assert.equal(parseUpgradeClaim(await c.get(UPGRADE_CLAIM_KEY)), undefined, 'no claim left behind');
  } finally {
    await member.restart();
    using c = new EtcdClient({ endpoints: addresses.map((a) => `${a}:2379`), tls, timeoutMs: 3000 });
    await waitFor('a healthy etcd cluster', () => validateForUpgrade(c, { tls, preserve: false }).then(() => true), 30_000);
  }
});

test('Upgrade whose caller gives up while waiting is Canceled, and the node says it is running again', async () => {
  const cp1 = controlPlane(0);
  const cp2 = controlPlane(1);
  const held = await claimEtcdForUpgrade(cp1.runtime, { preserve: true, force: false, actorId: 'hold', signal: new AbortController().signal });
  try {
    // The caller gives up once the node says it waits (not after a fixed time: a loaded machine
    // may take longer than any short timeout to get there).
    const impatient = new AbortController();
    const watching = new AbortController();
    void (async () => {
      for await (const e of cp2.events.subscribe({ signal: watching.signal, tailEvents: -1 })) {
        if (e.type !== 'machine.MachineStatusEvent') continue;
        const st = fromBinary(machinePb.MachineStatusEventSchema, (e.payload as Any).value);
        if (st.status?.unmetConditions.some((u) => u.reason.startsWith('waiting'))) impatient.abort();
      }
    })().catch(() => {});
    await assert.rejects(
      claimEtcdForUpgrade(cp2.runtime, { preserve: true, force: false, actorId: 'impatient', signal: AbortSignal.any([impatient.signal, AbortSignal.timeout(60_000)]), pollMs: 100 }).finally(() =>
        watching.abort(),
      ),
      (err: unknown) => hasCode(err, Code.Canceled) && /qr-cp-1/.test((err as Error).message),
    );
    const progress = await history(cp2.events);
    assert.match(progress[0] ?? '', /^UPGRADING etcdUpgradeClaim: waiting: qr-cp-1/);
    assert.equal(progress.at(-1), 'RUNNING ');
  } finally {
    assert.equal(await held?.release(), true);
  }
});
