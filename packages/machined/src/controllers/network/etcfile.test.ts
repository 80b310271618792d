import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nullLogger } from '@talos-ts/cosi';
import {
  ActiveMachineConfigId,
  generateMachineConfigs,
  generateSecretsBundle,
  newHostnameStatus,
  newMachineConfig,
  newNodeAddress,
  newResolverStatus,
  toConfigSecrets,
  applyPatches,
  parsePatch,
} from '@talos-ts/machinery';
import { startControllerSuite } from '@talos-ts/testkit';
import { hostNetworkOptions } from '../../linux/network-host.ts';
import { EtcFileController, renderHosts, renderResolvConf } from './etcfile.ts';

test('renderResolvConf/renderHosts: nameservers and search domains; the node name on its default address, with extra entries', () => {
  assert.equal(renderResolvConf({ dnsServers: ['10.0.0.53', '2001:db8::53'], searchDomains: ['example.org'] }), 'nameserver 10.0.0.53\nnameserver 2001:db8::53\nsearch example.org\n');
  const hosts = renderHosts({ hostname: 'n1', domainname: 'example.org' }, '10.0.0.2', [{ ip: '10.0.0.9', aliases: ['registry', 'registry.local'] }]);
  assert.match(hosts, /^127\.0\.0\.1 localhost$/m);
  assert.match(hosts, /^10\.0\.0\.2 n1\.example\.org n1$/m);
  assert.match(hosts, /^10\.0\.0\.9 registry registry\.local$/m);
});

test('EtcFileController: writes /etc files atomically through the container writer (state dir), and rewrites them when resolvers change', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'net-etc-'));
  try {
    const host = await hostNetworkOptions({ platform: 'container', ownsNetwork: false, defaultHostname: 'x', etcDir: dir, logger: nullLogger });
    assert.ok(host.writeEtcFile);
    assert.equal(host.ownsNetwork, false);
    const bundle = await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' });
    const base = generateMachineConfigs({ clusterName: 'etc', endpoint: 'https://127.0.0.1:6443', secrets: toConfigSecrets(bundle) }).worker;
    const p = parsePatch('machine:\n  network:\n    extraHostEntries:\n      - ip: 10.23.0.9\n        aliases: [reg]\n', { name: 'p' });
    if (p.error) throw p.error;
    const cfg = applyPatches(base, [p.value]);
    if (cfg.error) throw cfg.error;
    await using suite = startControllerSuite({ controllers: [new EtcFileController({ write: host.writeEtcFile })] });
    suite.state.create(newMachineConfig(ActiveMachineConfigId, { yaml: cfg.value.toYaml() }));
    suite.state.create(newNodeAddress('default', { addresses: ['10.23.0.2/24'], sortAlgorithm: 'v1' }));
    suite.state.create(newHostnameStatus({ hostname: 'n1', domainname: '' }));
    suite.state.create(newResolverStatus({ dnsServers: ['10.23.0.53'], searchDomains: [] }));
    const read = (f: string): string => {
      try {
        return readFileSync(join(dir, f), 'utf8');
      } catch {
        return '';
      }
    };
    for (let i = 0; i < 100 && !read('hosts').includes('reg'); i++) await new Promise((r) => setTimeout(r, 20));
    assert.match(read('hosts'), /^10\.23\.0\.2 n1$/m);
    assert.match(read('hosts'), /^10\.23\.0\.9 reg$/m);
    assert.equal(read('resolv.conf'), 'nameserver 10.23.0.53\n');
    suite.state.modify({ namespace: 'network', type: 'ResolverStatuses.net.talos.dev', id: 'resolvers' }, (d) => {
      (d as { spec: { dnsServers: string[] } }).spec.dnsServers = ['10.23.0.54'];
    });
    for (let i = 0; i < 100 && !read('resolv.conf').includes('54'); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(read('resolv.conf'), 'nameserver 10.23.0.54\n');
    assert.deepEqual(readdirSync(dir).sort(), ['hosts', 'resolv.conf'], 'no temporary files left behind');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
