import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AffiliateSpec, KubeSpanAffiliateSpec } from '@talos-ts/machinery';
import { IpSet, parseRange } from './ipset.ts';
import { derivePeerSpecs, parseEndpoint } from './peers.ts';

const key = (n: number) => Buffer.alloc(32, n).toString('base64');

function affiliate(id: string, addresses: string[], ks: Partial<KubeSpanAffiliateSpec> & { publicKey: string }): { id: string; spec: AffiliateSpec } {
  return {
    id,
    spec: {
      nodeId: id,
      addresses,
      hostname: id,
      nodename: `node-${id}`,
      operatingSystem: 'Talos',
      machineType: 'worker',
      kubespan: { address: 'fd00::1', additionalAddresses: [], endpoints: [], ...ks },
    },
  };
}

test('IpSet: merges, removes and prints the fewest prefixes', () => {
  const s = new IpSet();
  for (const p of ['10.0.0.0/25', '10.0.0.128/25', '10.0.1.0/24', 'fd00::1']) s.add(parseRange(p)!);
  assert.deepEqual(s.prefixes(), ['10.0.0.0/23', 'fd00::1/128']);
  s.remove(parseRange('10.0.0.5')!);
  assert.deepEqual(s.prefixes(), ['10.0.0.0/30', '10.0.0.4/32', '10.0.0.6/31', '10.0.0.8/29', '10.0.0.16/28', '10.0.0.32/27', '10.0.0.64/26', '10.0.0.128/25', '10.0.1.0/24', 'fd00::1/128']);
  assert.equal(parseRange('10.0.0.0/33'), undefined);
  assert.equal(parseRange('nope'), undefined);
});

test('parseEndpoint: ip:port and [ip6]:port only', () => {
  assert.deepEqual(parseEndpoint('10.5.0.3:51820'), { ip: '10.5.0.3', port: 51820 });
  assert.deepEqual(parseEndpoint('[fd00::3]:51820'), { ip: 'fd00::3', port: 51820 });
  for (const bad of ['10.5.0.3', '10.5.0.3:0', '10.5.0.3:70000', 'fd00::3:51820', '[10.5.0.3]:1', 'host:51820', '']) assert.equal(parseEndpoint(bad), undefined, bad);
});

test('derivePeerSpecs: peers keyed by public key with node addresses, advertised networks and the KubeSpan address', () => {
  const { peers, skipped } = derivePeerSpecs(
    [
      affiliate('local', ['10.5.0.2'], { publicKey: key(1) }),
      affiliate('b', ['10.5.0.3', 'fd10::3'], { publicKey: key(2), address: 'fd00::3', additionalAddresses: ['10.244.1.0/24', '10.244.2.0/24'], endpoints: ['10.5.0.3:51820'], excludeAdvertisedNetworks: ['10.244.2.0/24'] }),
      affiliate('c', ['10.5.0.4'], { publicKey: '' }),
    ],
    { localNodeId: 'local' },
  );
  assert.deepEqual(skipped, []);
  assert.deepEqual([...peers.keys()], [key(2)]);
  assert.deepEqual(peers.get(key(2)), { address: 'fd00::3', allowedIPs: ['10.5.0.3/32', '10.244.1.0/24', 'fd00::3/128', 'fd10::3/128'], endpoints: ['10.5.0.3:51820'], label: 'node-b' });
});

test('derivePeerSpecs: a malformed key, address or endpoint skips that peer only, with a reason', () => {
  const { peers, skipped } = derivePeerSpecs(
    [
      affiliate('a', ['10.5.0.3'], { publicKey: 'not-a-key' }),
      affiliate('b', ['10.5.0.4'], { publicKey: key(3), endpoints: ['10.5.0.4:51820', 'garbage'] }),
      affiliate('c', ['10.5.0.5'], { publicKey: key(4), address: 'fd00::zz' }),
      affiliate('d', ['10.5.0.6'], { publicKey: key(5), address: 'fd00::6', endpoints: ['10.5.0.6:51820'] }),
    ],
    { localNodeId: 'local' },
  );
  assert.deepEqual([...peers.keys()], [key(5)]);
  assert.deepEqual(
    skipped.map((s) => s.affiliateId),
    ['a', 'b', 'c'],
  );
  assert.match(skipped[0]!.reason, /public key/);
  assert.match(skipped[1]!.reason, /endpoint "garbage"/);
});

test('derivePeerSpecs: overlapping ranges stay with the peer first in id order', () => {
  const { peers, overlaps } = derivePeerSpecs(
    [
      affiliate('b', ['10.5.0.4'], { publicKey: key(3), address: 'fd00::4', additionalAddresses: ['10.244.0.0/16'] }),
      affiliate('a', ['10.5.0.3'], { publicKey: key(2), address: 'fd00::3', additionalAddresses: ['10.244.1.0/24'] }),
    ],
    { localNodeId: 'local' },
  );
  assert.deepEqual(peers.get(key(2))?.allowedIPs, ['10.5.0.3/32', '10.244.1.0/24', 'fd00::3/128']);
  assert.ok(!peers.get(key(3))?.allowedIPs.includes('10.244.0.0/16'));
  assert.ok(peers.get(key(3))?.allowedIPs.includes('10.244.0.0/24'));
  assert.equal(overlaps.length, 1);
});
