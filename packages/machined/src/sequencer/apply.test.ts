import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyPatches, generateMachineConfigs, generateSecretsBundle, parsePatch, toConfigSecrets, type MachineConfig } from '@talos-ts/machinery';
import { needsReboot } from './apply.ts';

const bundle = await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' });
const base = generateMachineConfigs({ clusterName: 'apply', endpoint: 'https://127.0.0.1:6443', secrets: toConfigSecrets(bundle) }).worker;

function patched(patch: string): MachineConfig {
  const p = parsePatch(patch, { name: 'patch' });
  if (p.error) throw p.error;
  const out = applyPatches(base, [p.value]);
  if (out.error) throw out.error;
  return out.value;
}

test('needsReboot: network, nameserver, hostname and time server changes apply live; the machine type does not', () => {
  const from = patched('machine:\n  network:\n    interfaces:\n      - interface: eth0\n        addresses: [10.0.0.2/24, 10.0.1.2/24]\n');
  const to = patched(
    'machine:\n  network:\n    hostname: other\n    nameservers: [10.0.0.53]\n    interfaces:\n      - interface: eth0\n        addresses: [10.0.0.2/24]\n        mtu: 1400\n        vlans:\n          - vlanId: 5\n            addresses: [10.5.0.2/24]\n  time:\n    servers: [ntp.example.org]\n',
  );
  assert.equal(needsReboot(from, to), false);
  assert.equal(needsReboot(from, patched('machine:\n  type: controlplane\n')), true);
});
