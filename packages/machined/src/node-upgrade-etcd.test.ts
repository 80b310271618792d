import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import type { Any } from '@bufbuild/protobuf/wkt';
import { nullLogger } from '@talos-ts/cosi';
import { clientOn, createH2Channel, generateMachineConfigs, generateSecretsBundle, machinePb, toConfigSecrets } from '@talos-ts/machinery';
import { signedInstallerImage, waitFor } from '@talos-ts/testkit';
import { EtcdClient, type EtcdTls } from './etcd/client.ts';
import { parseUpgradeClaim, UPGRADE_CLAIM_KEY } from './etcd/upgrade-claim.ts';
import { EPHEMERAL_WIPE_MARKER } from './linux/system-disk.ts';
import { TalosNode } from './node.ts';

// Three control planes on the container platform (real machined runtime, supervisor and etcd;
// apid and trustd stood in for by an idle process), upgraded at once with --preserve=false by
// calling the node's upgrade (the API refuses upgrades off metal). The slot write is recorded; the
// "reboot" is the container platform's in-process one, so etcd really leaves, rejoins as a new
// member and the claim really passes from one node to the next.

const idle = [process.execPath, '-e', 'setInterval(() => {}, 1000)'];
const addresses = ['127.0.35.21', '127.0.35.22', '127.0.35.23'];
const root = mkdtempSync(join(tmpdir(), 'qr-cp-upgrade-'));
const nodes: TalosNode[] = [];
const writes: { node: string; at: number; etcdDataLeft: boolean }[] = [];
let imageUrl = '';
/** Nodes whose slot write fails. */
const failWrites = new Set<string>();
let server: Server;

function tlsOf(node: TalosNode): EtcdTls {
  const d = node.paths.etcdCertsDir;
  return { ca: readFileSync(join(d, 'ca.crt'), 'utf8'), crt: readFileSync(join(d, 'admin.crt'), 'utf8'), key: readFileSync(join(d, 'admin.key'), 'utf8') };
}

function etcdClient(): EtcdClient {
  return new EtcdClient({ endpoints: addresses.map((a) => `${a}:2379`), tls: tlsOf(nodes[0]!), timeoutMs: 3000 });
}

async function startedVoters(): Promise<number> {
  using c = etcdClient();
  return (await c.memberList()).filter((m) => m.name !== '' && !m.isLearner).length;
}

before(async () => {
  const t0 = Date.now();
  const { files, trustedKeyPem } = signedInstallerImage('version B');
  server = createServer((req, res) => {
    const body = files[(req.url ?? '').replace(/^\/img\//, '')];
    res.writeHead(body ? 200 : 404).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.35.30', resolve));
  imageUrl = `http://127.0.35.30:${(server.address() as { port: number }).port}/img/`;

  const bundle = await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' });
  const g = generateMachineConfigs({ clusterName: 'quorum-up', endpoint: `https://${addresses[0]}:6443`, withClusterDiscovery: false, secrets: toConfigSecrets(bundle) });
  for (const address of addresses) {
    const dir = join(root, address);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.yaml'), g.controlplane.toYaml());
    const node: TalosNode = new TalosNode({
      platform: 'container',
      stateDir: dir,
      address,
      logger: nullLogger,
      apidCommand: idle,
      trustdCommand: idle,
      restartIntervalMs: 200,
      trustedImageKey: () => trustedKeyPem,
      etcdPeers: () => Promise.resolve(addresses.filter((a) => a !== address)),
      // The slot "write": when, and whether this member's etcd data was still there (it left first).
      upgradeBoot: () => {
        writes.push({ node: address, at: Date.now(), etcdDataLeft: existsSync(node.paths.etcdDataDir) });
        if (failWrites.has(address)) throw new Error('disk write failed (test)');
      },
    });
    nodes.push(node);
  }
  await Promise.all(nodes.map((n) => n.start()));
  await waitFor('etcd certificates', () => nodes.every((n) => existsSync(join(n.paths.etcdCertsDir, 'admin.key'))), 30_000);
  const channel = createH2Channel(`unix:${nodes[0]!.paths.machinedSocket}`);
  const machine = clientOn(machinePb.MachineService, channel, true);
  await machine.bootstrap({}, { metadata: { 'talos-role': 'os:admin' } });
  machine.close();
  await waitFor('three started voting etcd members', async () => (await startedVoters()) === 3, 90_000);
  process.stderr.write(`# 3 control planes with etcd in ${Date.now() - t0} ms\n`);
});

after(async () => {
  await Promise.all(nodes.map((n) => n[Symbol.asyncDispose]().catch(() => undefined)));
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  rmSync(root, { recursive: true, force: true });
});

test('two control planes upgraded at once with --preserve=false: one leaves etcd, reboots and rejoins as a new member, and only then does the other write its slot', async () => {
  using c = etcdClient();
  const before = new Map((await c.memberList()).map((m) => [m.peerURLs[0], m.ID]));
  const t0 = Date.now();
  const signal = AbortSignal.timeout(240_000);
  // Watches etcd meanwhile: when each node's member was removed and when its new member first voted.
  const seen = new Map<string, { removedAt?: number; votingAgainAt?: number }>();
  const watching = new AbortController();
  const watcher = (async () => {
    using w = etcdClient();
    while (!watching.signal.aborted && !signal.aborted) {
      const members = await w.memberList().catch(() => undefined);
      for (const [peer, id] of members ? before : []) {
        const m = members!.find((x) => x.peerURLs[0] === peer);
        const s = seen.get(peer!) ?? {};
        if ((!m || m.ID !== id) && s.removedAt === undefined) s.removedAt = Date.now();
        if (m && m.ID !== id && m.name !== '' && !m.isLearner && s.votingAgainAt === undefined) s.votingAgainAt = Date.now();
        seen.set(peer!, s);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  const calls = [0, 1].map((i) => nodes[i]!.upgrade({ url: imageUrl, preserve: false, signal }).then(() => ({ node: addresses[i]!, at: Date.now() })));
  try {
    const first = await Promise.race(calls);
    const firstIndex = addresses.indexOf(first.node);
    const second = addresses[1 - firstIndex]!;
    process.stderr.write(`# first upgrade accepted in ${first.at - t0} ms (${first.node})\n`);
    // The first node's claim is in etcd; the second node's call is still waiting on it.
    assert.equal(parseUpgradeClaim(await c.get(UPGRADE_CLAIM_KEY))?.peerUrl, `https://${first.node}:2380`);
    const accepted = await Promise.all(calls);
    const secondAccepted = accepted.find((a) => a.node === second)!.at;
    process.stderr.write(`# second upgrade accepted ${secondAccepted - first.at} ms after the first\n`);
    await waitFor('both slots written', () => writes.length === 2, 60_000);
    assert.deepEqual(writes.map((w) => w.node), [first.node, second]);
    // The first left etcd before its slot was written, and was a voting member again before the second's slot was.
    assert.deepEqual(writes.map((w) => w.etcdDataLeft), [false, false], 'each left etcd (its data gone) before its slot was written');
    const firstSeen = seen.get(`https://${first.node}:2380`);
    assert.ok(firstSeen?.removedAt !== undefined, 'its member was removed');
    assert.ok(firstSeen.votingAgainAt !== undefined && firstSeen.votingAgainAt <= writes[1]!.at, `voting again (${firstSeen.votingAgainAt! - t0} ms) before the second slot (${writes[1]!.at - t0} ms)`);
    await waitFor('both rejoined etcd and all three members vote again', async () => (await startedVoters()) === 3 && (await c.get(UPGRADE_CLAIM_KEY)) === undefined, 120_000);
    const afterIds = new Map((await c.memberList()).map((m) => [m.peerURLs[0], m.ID]));
    for (const a of [first.node, second]) {
      const peer = `https://${a}:2380`;
      assert.ok(afterIds.has(peer) && before.has(peer), `member of ${a}`);
      assert.notEqual(afterIds.get(peer), before.get(peer), `${a} came back as a new member`);
    }
    assert.equal(afterIds.get(`https://${addresses[2]}:2380`), before.get(`https://${addresses[2]}:2380`), 'the third was not touched');
    // Without --preserve the next boot was asked for a fresh EPHEMERAL (metal acts on the mark; the container platform has none).
    assert.ok(existsSync(join(root, first.node, EPHEMERAL_WIPE_MARKER)));
    process.stderr.write(`# both upgraded and back as voting members in ${Date.now() - t0} ms\n`);
  } finally {
    watching.abort();
    await watcher;
  }
});

test('an upgrade whose slot write fails after leaving etcd rejoins as a new member and gives the claim back; nothing reboots', async () => {
  const address = addresses[2]!;
  const node = nodes[2]!;
  failWrites.add(address);
  using c = etcdClient();
  const peer = `https://${address}:2380`;
  const oldId = (await c.memberList()).find((m) => m.peerURLs[0] === peer)?.ID;
  const t0 = Date.now();
  const before = writes.length;
  await node.upgrade({ url: imageUrl, preserve: false, signal: AbortSignal.timeout(120_000) });
  await waitFor('the failed write', () => writes.length === before + 1, 60_000);
  await waitFor('the node back in etcd as a voting member and the claim released', async () => {
    const m = (await c.memberList()).find((x) => x.peerURLs[0] === peer);
    return m !== undefined && m.ID !== oldId && m.name !== '' && !m.isLearner && (await c.get(UPGRADE_CLAIM_KEY)) === undefined;
  }, 120_000);
  process.stderr.write(`# failed upgrade: rejoined and released the claim in ${Date.now() - t0} ms\n`);
  assert.equal(writes.at(-1)?.node, address);
  // The sequence failed at its upgrade phase: no reboot phase ran.
  const phases: string[] = [];
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 30);
  for await (const e of node.events.subscribe({ signal: ac.signal, tailEvents: -1 })) {
    if (e.timestamp < t0) continue;
    if (e.type === 'machine.PhaseEvent') {
      const p = fromBinary(machinePb.PhaseEventSchema, (e.payload as Any).value);
      if (p.action === machinePb.PhaseEvent_Action.START) phases.push(p.phase);
    }
  }
  clearTimeout(timer);
  assert.deepEqual(phases, ['leave', 'upgrade']);
  // Another control plane may upgrade now: the claim is free and etcd is healthy.
  failWrites.delete(address);
});
