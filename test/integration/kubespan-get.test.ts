// `talosctl get` on the KubeSpan types, through machined's real State service over mTLS (no node
// process: the controllers that fill these types run in their own suites). Address 127.0.26.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemoryState } from '@talos-ts/cosi';
import {
  cosiStatePb,
  issueTestPki,
  newKubeSpanIdentity,
  newKubeSpanPeerSpec,
  newKubeSpanPeerStatus,
  newTalosconfig,
  registerTalosResources,
  serializeTalosconfig,
  startTestApiServer,
} from '@talos-ts/machinery';
import { createStateService } from '@talos-ts/machined';
import { main } from '@talos-ts/talosctl';

const key = 'mB4KxbRZ1H5MxYqXeAbz9EweFvTj4gB+0eS9/YcI3Vk=';

test('talosctl get kubespanidentities|kubespanpeerspecs|kubespanpeerstatuses: upstream columns from the node state', async () => {
  const state = new InMemoryState();
  registerTalosResources(state);
  state.create(
    newKubeSpanIdentity('local', {
      address: 'fdc8:8aee:4e2d:1202:f073:9cff:fe6c:4d67/128',
      subnet: 'fdc8:8aee:4e2d:1202::/64',
      privateKey: 'private',
      publicKey: key,
    }),
  );
  state.create(newKubeSpanPeerSpec(key, { address: 'fd00::2', allowedIPs: ['10.5.0.3/32'], endpoints: ['10.5.0.3:51820'], label: 'worker-1' }));
  state.create(
    newKubeSpanPeerStatus(key, {
      endpoint: '10.5.0.3:51820',
      label: 'worker-1',
      state: 'up',
      receiveBytes: 1024,
      transmitBytes: 2048,
      lastHandshakeTime: '2026-01-01T00:00:00Z',
      lastUsedEndpoint: '10.5.0.3:51820',
      lastEndpointChange: '2026-01-01T00:00:00Z',
    }),
  );
  const pki = await issueTestPki({ ipAddresses: ['127.0.26.1'] });
  const service = createStateService({ state: () => state, principal: () => ({ kind: 'roles', roles: new Set(['os:admin'] as const) }) });
  await using server = await startTestApiServer({
    address: '127.0.26.1:0',
    tls: { crtPem: pki.serverCrtPem, keyPem: pki.serverKeyPem, clientCaPem: pki.caPem },
    services: [{ service: cosiStatePb.State, impl: service }],
  });
  const dir = mkdtempSync(join(tmpdir(), 'it-kubespan-get-'));
  try {
    const talosconfig = join(dir, 'talosconfig');
    const cfg = newTalosconfig('ks', { endpoints: [server.address], nodes: ['10.5.0.2'], caPem: pki.caPem, crtPem: pki.clientCrtPem, keyPem: pki.clientKeyPem });
    writeFileSync(talosconfig, serializeTalosconfig(cfg));
    const run = async (...args: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await main(['--talosconfig', talosconfig, ...args], { out: (t) => void out.push(t), err: (t) => void err.push(t) });
      return { code, out: out.join(''), err: err.join('') };
    };
    const ids = await run('get', 'kubespanidentities');
    assert.equal(ids.code, 0, ids.err);
    assert.match(ids.out, /^NODE\s+NAMESPACE\s+TYPE\s+ID\s+VERSION\s+ADDRESS\s+PUBLICKEY\n/);
    assert.match(ids.out, /\n10\.5\.0\.2\s+kubespan\s+KubeSpanIdentity\s+local\s+1\s+fdc8:8aee:4e2d:1202:f073:9cff:fe6c:4d67\/128\s+mB4Kx/);
    const specs = await run('get', 'kubespanpeerspecs');
    assert.equal(specs.code, 0, specs.err);
    assert.match(specs.out, /^NODE\s+NAMESPACE\s+TYPE\s+ID\s+VERSION\s+LABEL\s+ENDPOINTS\n/);
    assert.match(specs.out, /KubeSpanPeerSpec\s+mB4Kx\S+\s+1\s+worker-1\s+\[10\.5\.0\.3:51820\]\n/);
    const statuses = await run('get', 'kubespanpeerstatuses');
    assert.equal(statuses.code, 0, statuses.err);
    assert.match(statuses.out, /^NODE\s+NAMESPACE\s+TYPE\s+ID\s+VERSION\s+LABEL\s+ENDPOINT\s+STATE\s+RX\s+TX\n/);
    assert.match(statuses.out, /KubeSpanPeerStatus\s+mB4Kx\S+\s+1\s+worker-1\s+10\.5\.0\.3:51820\s+up\s+1024\s+2048\n/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
