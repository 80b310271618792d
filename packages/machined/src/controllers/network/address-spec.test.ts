import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { newResource } from '@talos-ts/cosi';
import { AddressSpecType, NamespaceName, type AddressSpecSpec } from '@talos-ts/machinery';
import { startControllerSuite } from '@talos-ts/testkit';
import { openNetworkKernel } from '../../linux/rtnetlink.ts';
import { createAddressMergeController } from './address-merge.ts';
import { AddressSpecController } from './address-spec.ts';

const isRoot = process.getuid?.() === 0;
const skip = isRoot ? false : 'needs root: creates a network namespace';

const ipIn = (ns: string, ...args: string[]): string => execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8' });

async function eventually(check: () => void): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      check();
      return;
    } catch (err) {
      if (i >= 100) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

test('AddressSpecController: an operator-layer address marked announceWithARP reaches the link, is announced once, and leaves with its spec', { skip }, async () => {
  const ns = `n13-arp-${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    // A veth pair: this kernel may lack the dummy driver.
    ipIn(ns, 'link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd1');
    ipIn(ns, 'link', 'set', 'd0', 'up');
    ipIn(ns, 'link', 'set', 'd1', 'up');
    const announced: string[] = [];
    const openKernel = () => openNetworkKernel({ netnsPath: `/run/netns/${ns}` });
    await using suite = startControllerSuite({
      controllers: [createAddressMergeController(), new AddressSpecController({ openKernel, announce: (link, ip) => announced.push(`${link} ${ip}`) })],
    });
    const spec = (address: string, announceWithARP: boolean): AddressSpecSpec => ({ address, linkName: 'd0', family: 'inet4', scope: 'global', flags: 'permanent', announceWithARP, layer: 'operator' });
    const kind = { namespace: NamespaceName.networkConfig, type: AddressSpecType };
    suite.state.create(newResource(kind, 'vip/d0/d0/10.31.0.50/32', spec('10.31.0.50/32', true)));
    suite.state.create(newResource(kind, 'dhcp4/d0/d0/10.31.0.7/24', spec('10.31.0.7/24', false)));
    await eventually(() => {
      const shown = ipIn(ns, '-4', '-o', 'addr', 'show', 'dev', 'd0');
      assert.match(shown, / 10\.31\.0\.50\/32 /);
      assert.match(shown, / 10\.31\.0\.7\/24 /);
    });
    // Only the address that asks for it is announced, and once however often the controller runs.
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(announced, ['d0 10.31.0.50']);
    suite.state.destroy({ ...kind, id: 'vip/d0/d0/10.31.0.50/32' });
    await eventually(() => assert.doesNotMatch(ipIn(ns, '-4', '-o', 'addr', 'show', 'dev', 'd0'), /10\.31\.0\.50/));
    assert.match(ipIn(ns, '-4', '-o', 'addr', 'show', 'dev', 'd0'), / 10\.31\.0\.7\/24 /);
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
});
