import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Code, hasCode, nullLogger } from '@talos-ts/cosi';
import { generateMachineConfigs, generateSecretsBundle, toConfigSecrets } from '@talos-ts/machinery';
import { TalosNode } from '../node.ts';
import { checkResetOptions, wipeLabels } from './tasks/reset.ts';

// `reset --system-labels-to-wipe` on the container platform: real state, supervisor and sockets;
// the volume wipe itself is metal's (wipeSystemVolume), recorded here through the node option.
const idle = [process.execPath, '-e', 'setInterval(() => {}, 1000)'];
const bundle = await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' });

let host = 1;
async function configuredNode(t: { after: (fn: () => Promise<void>) => void }, wiped: string[]) {
  const address = `127.0.34.${host++}`;
  const dir = mkdtempSync(join(tmpdir(), 'machined-reset-'));
  const g = generateMachineConfigs({ clusterName: 'mt-reset', endpoint: `https://${address}:6443`, withClusterDiscovery: false, secrets: toConfigSecrets(bundle) });
  writeFileSync(join(dir, 'config.yaml'), g.worker.toYaml());
  const node = new TalosNode({
    platform: 'container', stateDir: dir, address, logger: nullLogger, apidCommand: idle, trustdCommand: idle, restartIntervalMs: 200,
    wipeSystemVolume: (label) => (wiped.push(label), `/dev/fake-${label}`),
  });
  t.after(async () => {
    await node[Symbol.asyncDispose]();
    rmSync(dir, { recursive: true, force: true });
  });
  await node.start();
  mkdirSync(join(node.paths.varDir, 'lib', 'etcd'), { recursive: true });
  return node;
}

async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('reset labels: none named wipes STATE and EPHEMERAL; named ones only those with wipe set; USER_DISKS none', () => {
  assert.deepEqual(wipeLabels({ graceful: false, reboot: true }), ['STATE', 'EPHEMERAL']);
  assert.deepEqual(wipeLabels({ graceful: false, reboot: true, systemPartitionsToWipe: [{ label: 'EPHEMERAL', wipe: true }, { label: 'STATE', wipe: false }] }), ['EPHEMERAL']);
  assert.deepEqual(wipeLabels({ graceful: false, reboot: true, userDisksOnly: true }), []);
  assert.throws(() => checkResetOptions({ graceful: false, reboot: true, userDisksOnly: true, systemPartitionsToWipe: [{ label: 'STATE', wipe: true }] }), /USER_DISKS doesn't support SystemPartitionsToWipe/);
});

test('reset labels: an unknown label is InvalidArgument naming it, and the node keeps running configured', async (t) => {
  const wiped: string[] = [];
  const node = await configuredNode(t, wiped);
  const before = node.supervisor;
  await assert.rejects(
    node.reset({ graceful: false, reboot: true, systemPartitionsToWipe: [{ label: 'STATE', wipe: true }, { label: 'BOOTX', wipe: true }] }),
    (e) => hasCode(e, Code.InvalidArgument) && /label "BOOTX"/.test((e as Error).message),
  );
  assert.equal(node.supervisor, before);
  assert.deepEqual(wiped, []);
  assert.ok(existsSync(node.paths.config));
});

test('reset labels: wiping EPHEMERAL keeps the config and identity, removes /var/lib, and the node boots configured', async (t) => {
  const wiped: string[] = [];
  const node = await configuredNode(t, wiped);
  const before = node.supervisor;
  await node.reset({ graceful: false, reboot: true, systemPartitionsToWipe: [{ label: 'EPHEMERAL', wipe: true }] });
  await until('booted again', () => node.supervisor !== undefined && node.supervisor !== before);
  assert.deepEqual(wiped, ['EPHEMERAL']);
  assert.equal(node.inMaintenance, false);
  assert.ok(existsSync(node.paths.config));
  assert.equal(existsSync(join(node.paths.varDir, 'lib', 'etcd')), false);
});

test('reset labels: wiping STATE removes the config, and the node comes back in maintenance mode', async (t) => {
  const wiped: string[] = [];
  const node = await configuredNode(t, wiped);
  await node.reset({ graceful: false, reboot: true, systemPartitionsToWipe: [{ label: 'STATE', wipe: true }] });
  await until('maintenance mode', () => node.inMaintenance);
  assert.deepEqual(wiped, ['STATE']);
  assert.equal(existsSync(node.paths.config), false);
  assert.ok(existsSync(join(node.paths.varDir, 'lib', 'etcd')), 'EPHEMERAL was left alone');
});
