import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installDiskPatch, vmKernelArgs, vmMac } from './create.ts';
import { checkImageDir, IMAGE_FILES } from './host/qemu.ts';
import { planNetwork } from './network.ts';

test('vmKernelArgs: ip= carries the node address, the bridge as gateway and the netmask of the cidr', () => {
  const plan = planNetwork('k', { controlplanes: 2, workers: 0, cidr: '10.40.0.0/20' });
  const node = plan.nodes[1];
  assert.ok(node);
  const args = vmKernelArgs(plan, node);
  assert.ok(args.includes('ip=10.40.0.3::10.40.0.1:255.255.240.0:k-controlplane-2:eth0:off'), args.join(' '));
  assert.ok(args.includes('talos.platform=metal'));
  assert.ok(args.includes('console=ttyS0'));
});

test('vmMac: every VM of a cluster gets its own locally administered MAC', () => {
  const macs = Array.from({ length: 300 }, (_, i) => vmMac(i));
  assert.equal(new Set(macs).size, macs.length);
  for (const m of macs) assert.match(m, /^52:54:00:7a:[0-9a-f]{2}:[0-9a-f]{2}$/);
});

test('checkImageDir: a directory without the image files names the missing ones', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prov-img-'));
  try {
    writeFileSync(join(dir, IMAGE_FILES.kernel), '');
    assert.throws(() => checkImageDir(dir), /not a built image \(missing initramfs\.img, rootfs\.sqsh\)/);
    writeFileSync(join(dir, IMAGE_FILES.initramfs), '');
    writeFileSync(join(dir, IMAGE_FILES.rootfs), '');
    assert.doesNotThrow(() => checkImageDir(dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('installDiskPatch: a qemu node installs to /dev/vda and its installed slots keep its address and hostname', () => {
  const plan = planNetwork('k', { controlplanes: 1, workers: 1, cidr: '10.40.0.0/24' });
  const node = plan.nodes[1];
  assert.ok(node);
  const patch = installDiskPatch(plan, node);
  assert.equal(patch.type, 'strategic');
  assert.deepEqual(patch.type === 'strategic' ? patch.documents : [], [
    { machine: { install: { disk: '/dev/vda', extraKernelArgs: ['quiet', 'ip=10.40.0.3::10.40.0.1:255.255.255.0:k-worker-1:eth0:off', 'talos.hostname=k-worker-1'] } } },
  ]);
});
