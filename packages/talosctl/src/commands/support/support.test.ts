import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cosiStatePb, machinePb, testService, type CallContext } from '@talos-ts/machinery';
import { fakeNode } from '../../testing/fake-node.ts';

const node = (ctx: CallContext): string => String(ctx.metadata.get('node')?.[0] ?? ctx.metadata.get('nodes')?.[0] ?? '');
const created = { seconds: 1700000000n, nanos: 0 };
const meta = (namespace: string, type: string, id: string) => ({ namespace, type, id, version: '1', phase: 'running', owner: '', created, updated: created });
const rd = (type: string, ns: string, sensitivity: string) => ({
  metadata: meta('meta', 'ResourceDefinitions.meta.cosi.dev', type.toLowerCase()),
  spec: { yamlSpec: `resourceType: ${type}\ndisplayType: ${type.split('.')[0]}\ndefaultNamespace: ${ns}\nsensitivity: ${sensitivity}\n` },
});
const pool: Record<string, { metadata: ReturnType<typeof meta>; spec: { yamlSpec: string } }[]> = {
  'ResourceDefinitions.meta.cosi.dev': [rd('Hostnames.net.talos.dev', 'network', 'non-sensitive'), rd('MachineConfigs.config.talos.dev', 'config', 'sensitive')],
  'Hostnames.net.talos.dev': [{ metadata: meta('network', 'Hostnames.net.talos.dev', 'hostname'), spec: { yamlSpec: 'hostname: cp-1\n' } }],
  'MachineConfigs.config.talos.dev': [{ metadata: meta('config', 'MachineConfigs.config.talos.dev', 'v1alpha1'), spec: { yamlSpec: 'machine: {token: s3cr3t}\n' } }],
};

function services(deadNode: string) {
  return [
    testService(machinePb.MachineService, {
      async *dmesg(_r, ctx) {
        yield { bytes: Buffer.from(`kernel: hello from ${node(ctx)}\n`) };
      },
      async *logs(req, ctx) {
        yield { bytes: Buffer.from(`${req.id} log of ${node(ctx)}\n`) };
      },
      serviceList: (_r, ctx) => {
        if (node(ctx) === deadNode) throw new Error('node is gone');
        return { messages: [{ services: [{ id: 'apid', state: 'Running', health: { healthy: true }, events: { events: [{ msg: 'Health check successful', state: 'Running', ts: created }] } }] }] };
      },
      version: () => ({ messages: [{ version: { tag: 'v1.2.3', os: 'linux', arch: 'amd64' } }] }),
    }),
    testService(cosiStatePb.State, {
      list: async function* (req) {
        for (const r of pool[req.type] ?? []) if (r.metadata.namespace === req.namespace) yield { resource: r };
      },
    }),
  ];
}

test('talosctl support: a zip unzip(1) reads, with per-node logs, dmesg, resources (sensitive redacted) and service states', async () => {
  await using n = await fakeNode(services(''), { nodes: ['10.5.0.2', '10.5.0.3'] });
  const out = join(n.dir, 'bundle.zip');
  const r = await n.run('support', '-O', out, '-w', '2');
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /Support bundle is written to .*bundle\.zip\n$/);
  // Mounts is not served by this node: recorded, the rest still collected
  assert.match(r.err, /Processed with errors:\n\t10\.5\.0\.2: mounts: .*not implemented/);
  execFileSync('unzip', ['-tq', out]); // every member's CRC checks out
  const names = execFileSync('unzip', ['-Z1', out], { encoding: 'utf8' }).trim().split('\n').sort();
  const perNode = ['controller-runtime.log', 'dmesg.log', 'resources/hostnames.net.talos.dev.yaml', 'resources/machineconfigs.config.talos.dev.yaml', 'service-logs/apid.log', 'service-logs/apid.state', 'summary'];
  assert.deepEqual(names, ['10.5.0.2', '10.5.0.3'].flatMap((node) => perNode.map((p) => `${node}/${p}`)).sort());
  const read = (p: string) => execFileSync('unzip', ['-p', out, p], { encoding: 'utf8' });
  assert.equal(read('10.5.0.3/dmesg.log'), 'kernel: hello from 10.5.0.3\n');
  assert.equal(read('10.5.0.2/controller-runtime.log'), 'machined log of 10.5.0.2\n');
  assert.equal(read('10.5.0.2/service-logs/apid.log'), 'apid log of 10.5.0.2\n');
  assert.match(read('10.5.0.2/service-logs/apid.state'), /^ID {7}apid\nSTATE {4}Running\nHEALTH {3}OK\nEVENTS {3}\[Running\]: Health check successful/);
  assert.match(read('10.5.0.2/resources/hostnames.net.talos.dev.yaml'), /id: hostname\n[^]*spec:\n {2}hostname: cp-1\n/);
  const mc = read('10.5.0.2/resources/machineconfigs.config.talos.dev.yaml');
  assert.match(mc, /spec: <REDACTED>/);
  assert.doesNotMatch(mc, /s3cr3t/);
  assert.match(read('10.5.0.2/summary'), /^Client:\n\tTag: .*\n[^]*Server:\n\tTag: {9}v1\.2\.3\n/);
});

test('talosctl support: a node that fails is reported and the others are still bundled; an existing output is kept', async () => {
  await using n = await fakeNode(services('10.5.0.3'), { nodes: ['10.5.0.2', '10.5.0.3'] });
  const out = join(n.dir, 'support.zip');
  const r = await n.run('support', '--output', out);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /\t10\.5\.0\.3: node is gone\n/);
  const names = execFileSync('unzip', ['-Z1', out], { encoding: 'utf8' });
  assert.match(names, /^10\.5\.0\.2\/dmesg\.log$/m);
  assert.doesNotMatch(names, /^10\.5\.0\.3\//m);
  writeFileSync(out, 'keep');
  const again = await n.run('support', '--output', out);
  assert.equal(again.code, 1);
  assert.match(again.err, /support\.zip already exists/);
  const bad = await n.run('support', '--output', join(n.dir, 'x.zip'), '-w', '0');
  assert.match(bad.err, /invalid argument "0" for "-w, --num-workers" flag/);
  assert.equal(existsSync(join(n.dir, 'x.zip')), false);
});
