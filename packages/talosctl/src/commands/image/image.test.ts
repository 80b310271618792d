import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commonPb, issueTestPki, machinePb, newTalosconfig, serializeTalosconfig, startTestApiServer, testService } from '@talos-ts/machinery';
import { main } from '../../main.ts';
import { imageNamespace, rfc3339 } from './image.ts';

test('imageNamespace: cri and system as upstream names them; anything else is refused', () => {
  assert.equal(imageNamespace('cri'), commonPb.ContainerdNamespace.NS_CRI);
  assert.equal(imageNamespace('system'), commonPb.ContainerdNamespace.NS_SYSTEM);
  assert.throws(() => imageNamespace('k8s.io'), /unsupported namespace "k8s\.io"/);
});

test('rfc3339: UTC to the second with Z, as Go prints time.RFC3339', () => {
  assert.equal(rfc3339(new Date(Date.UTC(2026, 11, 3, 18, 45, 7, 999))), '2026-12-03T18:45:07Z');
});

test('talosctl image ls --namespace system: one row per image and node, sizes as go-humanize prints them, a node error reported after the rows', async () => {
  const p = await issueTestPki();
  const asked: commonPb.ContainerdNamespace[] = [];
  // The test PKI's server certificate names 127.0.0.1 only: a free port there, as the other CLI tests.
  await using server = await startTestApiServer({
    tls: { crtPem: p.serverCrtPem, keyPem: p.serverKeyPem, clientCaPem: p.caPem },
    services: [
      testService(machinePb.MachineService, {
        imageList: async function* (req) {
          asked.push(req.namespace);
          yield { metadata: { hostname: '10.5.0.2' }, name: '127.0.77.1:47710/talos/installer:v1.0.0', digest: `sha256:${'a'.repeat(64)}`, size: 10_240n, createdAt: { seconds: 1_764_787_507n, nanos: 5 } };
          yield { metadata: { hostname: '10.5.0.2' }, name: 'ghcr.io/siderolabs/installer:v1.9.0', digest: `sha256:${'b'.repeat(64)}`, size: 5437n, createdAt: { seconds: 1_764_787_000n, nanos: 0 } };
          yield { metadata: { hostname: '10.5.0.3', error: 'containerd is not running on this node' }, name: '', digest: '', size: 0n };
        },
      }),
    ],
  });
  const dir = mkdtempSync(join(tmpdir(), 'ctrd-talosctl-'));
  try {
    const cfg = newTalosconfig('test', { endpoints: [server.address], nodes: ['10.5.0.2', '10.5.0.3'], caPem: p.caPem, crtPem: p.clientCrtPem, keyPem: p.clientKeyPem });
    writeFileSync(join(dir, 'talosconfig'), serializeTalosconfig(cfg));
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['--talosconfig', join(dir, 'talosconfig'), 'image', 'ls', '--namespace', 'system'], { out: (t) => void out.push(t), err: (t) => void err.push(t) });
    assert.notEqual(code, 0, err.join(''));
    assert.deepEqual(asked, [commonPb.ContainerdNamespace.NS_SYSTEM]);
    const lines = out.join('').trimEnd().split('\n').map((l) => l.split(/\s{2,}/));
    assert.deepEqual(lines, [
      ['NODE', 'IMAGE', 'DIGEST', 'SIZE', 'CREATED'],
      ['10.5.0.2', '127.0.77.1:47710/talos/installer:v1.0.0', `sha256:${'a'.repeat(64)}`, '10 kB', '2025-12-03T18:45:07Z'],
      ['10.5.0.2', 'ghcr.io/siderolabs/installer:v1.9.0', `sha256:${'b'.repeat(64)}`, '5.4 kB', '2025-12-03T18:36:40Z'],
    ]);
    assert.match(err.join(''), /10\.5\.0\.3: containerd is not running on this node/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
