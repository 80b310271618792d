// Issue 5 acceptance: three real nodes find each other through a local discovery service, which
// only ever holds ciphertext. Node addresses 127.0.0.71-73.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDiscoveryServer, type DiscoveryServer } from '@talos-ts/discovery';
import {
  applyPatches,
  generateMachineConfigs,
  generateSecretsBundle,
  ipToBytes,
  loadConfig,
  parsePatch,
  serializeSecretsBundle,
  toConfigSecrets,
  type SecretsBundle,
} from '@talos-ts/machinery';
import { main } from '@talos-ts/talosctl';
import { processesUsing, startNode, tempDir, waitFor, type NodeProcess } from '@talos-ts/testkit';

const nodes = [
  { address: '127.0.0.71', hostname: 'disco-cp-1', type: 'controlplane' },
  { address: '127.0.0.72', hostname: 'disco-worker-1', type: 'worker' },
  { address: '127.0.0.73', hostname: 'disco-worker-2', type: 'worker' },
] as const;
const [cp, w1, w2] = nodes;
// Short on purpose (upstream publishes for 30 min): a node that dies must vanish within the test.
const ttlMs = 4000;
const tmp = tempDir('it-disco-');
const snapshotPath = join(tmp.dir, 'discovery.snapshot');
const running = new Map<string, NodeProcess>();
let server: DiscoveryServer;
let bundle: SecretsBundle;
let talosconfig = '';

async function talosctl(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (t) => void out.push(t), err: (t) => void err.push(t) });
  return { code, out: out.join(''), err: err.join('') };
}

/** Hostnames of the Members one node lists (asked through the control plane's apid). */
async function membersSeenBy(address: string): Promise<string[]> {
  const r = await talosctl('--talosconfig', talosconfig, '-e', cp.address, '-n', address, 'get', 'members', '-o', 'json');
  if (r.code !== 0) throw new Error(r.err);
  const found = [...r.out.matchAll(/"hostname":\s*"([^"]+)"/g)].map((m) => m[1] ?? '');
  return [...new Set(found)].sort();
}

function patched(yaml: string, patch: string): string {
  const cfg = loadConfig(yaml, { filename: 'generated' });
  const p = parsePatch(patch, { name: 'discovery-patch' });
  if (cfg.error || p.error) throw cfg.error ?? p.error;
  const out = applyPatches(cfg.value, [p.value]);
  if (out.error) throw out.error;
  return out.value.toYaml();
}

before(async () => {
  server = await createDiscoveryServer({ snapshotPath, gcIntervalMs: 250, rateLimit: false });
  const bound = await server.listen('127.0.0.1:0');
  bundle = await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' });
  const g = generateMachineConfigs({ clusterName: 'disco', endpoint: `https://${cp.address}:6443`, secrets: toConfigSecrets(bundle) });
  for (const n of nodes) {
    const base = n.type === 'controlplane' ? g.controlplane.toYaml() : g.worker.toYaml();
    const patch = `machine:\n  network:\n    hostname: ${n.hostname}\ncluster:\n  discovery:\n    enabled: true\n    registries:\n      service:\n        endpoint: http://127.0.0.1:${bound.port}/\n`;
    writeFileSync(join(tmp.dir, `${n.hostname}.yaml`), patched(base, patch));
  }
  const secrets = join(tmp.dir, 'secrets.yaml');
  writeFileSync(secrets, serializeSecretsBundle(bundle));
  talosconfig = join(tmp.dir, 'talosconfig');
  const r = await talosctl('gen', 'config', 'disco', `https://${cp.address}:6443`, '-t', 'talosconfig', '-o', talosconfig, '--with-secrets', secrets);
  assert.equal(r.code, 0, r.err);
  for (const n of nodes) {
    running.set(n.address, await startNode(n.address, join(tmp.dir, n.address), { env: { TALOSTS_DISCOVERY_TTL_MS: String(ttlMs) } }));
  }
});

after(async () => {
  const dirs = [...running.values()].map((n) => n.dir);
  await Promise.all([...running.values()].map((n) => n.stop()));
  for (const d of dirs) assert.deepEqual(processesUsing(d), [], `processes left behind under ${d}`);
  await server?.[Symbol.asyncDispose]();
  tmp.remove();
});

test('discovery: three nodes pointed at one discovery service each list the other two as Members', async (t) => {
  for (const n of nodes) {
    const r = await talosctl('apply-config', '--insecure', '-n', n.address, '-f', join(tmp.dir, `${n.hostname}.yaml`));
    assert.equal(r.code, 0, r.err);
  }
  const applied = Date.now();
  const all = nodes.map((n) => n.hostname).sort();
  // Each node's own view: the call goes to that node's machined through the apids.
  for (const n of nodes) {
    await waitFor(`${n.hostname} to list all three members`, async () => JSON.stringify(await membersSeenBy(n.address)) === JSON.stringify(all), 60_000);
  }
  t.diagnostic(`all three nodes list each other ${Date.now() - applied} ms after the last apply-config (includes apid start and certificates)`);
  const table = await talosctl('--talosconfig', talosconfig, '-e', cp.address, '-n', w1.address, 'get', 'members');
  assert.equal(table.code, 0, table.err);
  assert.match(table.out, new RegExp(`${cp.hostname}\\s+controlplane\\s+Talos \\(v[^)]*\\)\\s+.*${cp.address.replace(/\./g, '\\.')}`));
  const identities = await talosctl('--talosconfig', talosconfig, '-e', cp.address, '-n', cp.address, 'get', 'identities');
  assert.equal(identities.code, 0, identities.err);
  assert.match(identities.out, /local\s+\d+\s+[0-9A-Za-z]{43}/);
  const affiliates = await talosctl('--talosconfig', talosconfig, '-e', cp.address, '-n', cp.address, 'get', 'affiliates');
  assert.equal(affiliates.code, 0, affiliates.err);
  for (const n of nodes) assert.match(affiliates.out, new RegExp(n.hostname));
  const raw = await talosctl('--talosconfig', talosconfig, '-e', cp.address, '-n', cp.address, 'get', 'affiliates', '--namespace', 'cluster-raw');
  assert.equal(raw.code, 0, raw.err);
  assert.equal(raw.out.match(/service\//g)?.length, 2, raw.out);
});

test('discovery: the service keeps only ciphertext, in memory and in its snapshot', async () => {
  await server.saveSnapshot();
  const snapshot = readFileSync(snapshotPath);
  const exported = Buffer.from(JSON.stringify(server.state.export()));
  const clusters = server.state.export().clusters;
  assert.equal(clusters.length, 1);
  assert.equal(clusters[0]?.affiliates.length, 3);
  // The raw stored bytes too, not only their base64 form.
  const stored = Buffer.concat((clusters[0]?.affiliates ?? []).map((a) => Buffer.from(a.data ?? '', 'base64')));
  assert.ok(stored.length > 0);
  for (const n of nodes) {
    for (const [what, blob] of [['memory', exported], ['stored bytes', stored], ['snapshot', snapshot]] as const) {
      assert.equal(blob.indexOf(n.hostname), -1, `${n.hostname} in plaintext in the ${what}`);
      assert.equal(blob.indexOf(n.address), -1, `${n.address} in plaintext in the ${what}`);
      assert.equal(blob.indexOf(Buffer.from(ipToBytes(n.address))), -1, `${n.address} as raw bytes in the ${what}`);
    }
  }
});

test('discovery: a node that dies disappears from the others after its TTL', async (t) => {
  const victim = running.get(w2.address);
  assert.ok(victim);
  victim.child.kill('SIGKILL');
  await victim.stop();
  const killed = Date.now();
  const rest = [cp.hostname, w1.hostname].sort();
  for (const n of [cp, w1]) {
    await waitFor(`${n.hostname} to drop ${w2.hostname}`, async () => JSON.stringify(await membersSeenBy(n.address)) === JSON.stringify(rest), 30_000);
  }
  t.diagnostic(`killed node dropped by both others ${Date.now() - killed} ms after SIGKILL (TTL ${ttlMs} ms)`);
});

test('discovery: a node shut down cleanly removes itself from the service', async (t) => {
  const node = running.get(w1.address);
  assert.ok(node);
  const stopped = Date.now();
  await node.stop();
  // machined deletes its affiliate during shutdown, before it exits: no waiting for the TTL.
  assert.deepEqual(server.state.export().clusters[0]?.affiliates.length, 1);
  await waitFor(`${cp.hostname} to drop ${w1.hostname}`, async () => JSON.stringify(await membersSeenBy(cp.address)) === JSON.stringify([cp.hostname]), 30_000);
  t.diagnostic(`cleanly stopped node dropped ${Date.now() - stopped} ms after SIGTERM`);
});
