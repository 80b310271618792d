import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Code, hasCode, nullLogger } from '@talos-ts/cosi';
import { createGrpcClient, generateMachineConfigs, generateSecretsBundle, machinePb, toConfigSecrets } from '@talos-ts/machinery';
import { TalosNode } from '../node.ts';

const Mode = machinePb.ApplyConfigurationRequest_Mode;
const idle = [process.execPath, '-e', 'setInterval(() => {}, 1000)'];
const bundle = await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' });

// A loopback address of its own (127.0.0.0/8 is all local): node tests elsewhere use 127.0.0.x.
const address = `127.${200 + (process.pid % 50)}.${1 + (Date.now() % 250)}.1`;

/** A node waiting in maintenance mode, and a client of its maintenance API (the real TLS h2 path). */
async function maintenanceNode(t: { after: (fn: () => Promise<void> | void) => void }) {
  const dir = mkdtempSync(join(tmpdir(), 'machined-apply-'));
  const node = new TalosNode({ platform: 'container', stateDir: dir, address, logger: nullLogger, apidCommand: idle, trustdCommand: idle });
  await node.start();
  const client = createGrpcClient(machinePb.MachineService, `${address}:50000`, { tls: { insecureSkipVerify: true } });
  t.after(async () => {
    client.close();
    await node[Symbol.asyncDispose]();
    rmSync(dir, { recursive: true, force: true });
  });
  const worker = generateMachineConfigs({ clusterName: 'unit', endpoint: `https://${address}:6443`, withClusterDiscovery: false, secrets: toConfigSecrets(bundle) }).worker.toYaml();
  return { node, client, worker };
}

function invalid(e: unknown, message: RegExp): boolean {
  assert.ok(hasCode(e, Code.InvalidArgument), `want InvalidArgument, got ${String(e)}`);
  assert.match((e as Error).message, message);
  return true;
}

test('apply-config: a 100 KB bad value comes back as a short validation error naming the field', async (t) => {
  const { node, client, worker } = await maintenanceNode(t);
  for (const size of [10 * 1024, 100 * 1024]) {
    const bad = worker.replace(/^( {4}network:).*$/m, `$1\n        hostname: ok\n        nameservers: ["${'9'.repeat(size)}"]`);
    assert.notEqual(bad, worker);
    await assert.rejects(client.applyConfiguration({ data: Buffer.from(bad), mode: Mode.AUTO }, { timeoutMs: 10_000 }), (e) => {
      invalid(e, new RegExp(`machine\\.network\\.nameservers\\[0\\]: invalid IP address "9{64}"…\\(${size + 0} bytes\\)`));
      assert.ok((e as Error).message.length < 1024, `message is ${(e as Error).message.length} characters`);
      return true;
    });
  }
  assert.ok(node.inMaintenance);
});

test('apply-config: an unknown 100 KB key is reported cut, with its path', async (t) => {
  const { client, worker } = await maintenanceNode(t);
  const key = 'k'.repeat(100 * 1024);
  // An explicit key (`? k`): YAML allows implicit keys of at most 1024 characters.
  const bad = worker.replace(/^( {4}network:).*$/m, `    ? ${key}\n    : 1\n$1 {}`);
  await assert.rejects(client.applyConfiguration({ data: Buffer.from(bad), mode: Mode.AUTO }, { timeoutMs: 10_000 }), (e) =>
    invalid(e, /machine\.k{200,256}…\(\d+ bytes\): unknown field "k{64}"…\(102400 bytes\)/),
  );
});

test('apply-config: invalid UTF-8 and NUL bytes are refused naming the byte offset, and nothing is stored', async (t) => {
  const { node, client, worker } = await maintenanceNode(t);
  // Inside a comment, where a lenient decode would let the rewritten bytes through unnoticed.
  const at = worker.indexOf('# network settings') + 2;
  const text = Buffer.from(worker);
  const line = worker.slice(0, at).split('\n').length;
  for (const [bytes, what] of [
    [Buffer.concat([text.subarray(0, at), Buffer.from([0xff]), text.subarray(at)]), /invalid UTF-8 \(byte 0xFF\)/],
    [Buffer.concat([text.subarray(0, at), Buffer.from([0xc3]), text.subarray(at)]), /invalid UTF-8 \(byte 0xC3\)/],
    [Buffer.concat([text.subarray(0, at), Buffer.from([0x00]), text.subarray(at)]), /NUL byte/],
  ] as const) {
    await assert.rejects(client.applyConfiguration({ data: bytes, mode: Mode.AUTO }, { timeoutMs: 10_000 }), (e) =>
      invalid(e, new RegExp(`config:${line}:\\d+: ${what.source}.* at byte offset ${at}`)),
    );
  }
  assert.ok(node.inMaintenance);
  assert.ok(!existsSync(node.paths.config));
});
