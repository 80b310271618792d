// Run by bootloader-space.test.ts in a private mount namespace (unshare): a TalosNode whose BOOT is a
// 4 MiB tmpfs is asked to upgrade to a 5 MiB installer served over HTTP. Prints one JSON object.
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import type { Any } from '@bufbuild/protobuf/wkt';
import { nullLogger, TalosError } from '@talos-ts/cosi';
import { generateMachineConfigs, generateSecretsBundle, IMAGE_SIGNATURE_FILE, InstallerFiles, machinePb, toConfigSecrets } from '@talos-ts/machinery';
import { TalosNode } from '../../node.ts';
import { checkInactiveSlotFits, writeInactiveSlot } from '../bootloader.ts';
import { smallBoot } from './small-boot.ts';

const MiB = 1 << 20;
const ADDRESS = '127.0.41.5';
const out: Record<string, unknown> = {};
const boot = smallBoot('b12-small-boot-node-');
const { dir, root } = boot;

// A signed installer image directory whose root is 3 MiB: with kernel and initramfs, 5 MiB.
const files: Record<string, Buffer> = {};
const artifacts: Record<string, { sha256: string; sizeBytes: number }> = {};
for (const [role, name] of Object.entries(InstallerFiles)) {
  if (role === 'manifest') continue;
  const bytes = Buffer.alloc(role === 'rootfsCpio' ? 3 * MiB : role === 'kernel' || role === 'initramfs' ? MiB : 512, role.length);
  files[name] = bytes;
  artifacts[name] = { sha256: createHash('sha256').update(bytes).digest('hex'), sizeBytes: bytes.length };
}
const manifest = Buffer.from(JSON.stringify({ schema: 1, version: 'v2', artifacts }));
const key = generateKeyPairSync('ed25519');
files[InstallerFiles.manifest] = manifest;
files[IMAGE_SIGNATURE_FILE] = Buffer.from(`${sign(null, createHash('sha256').update(manifest).digest(), key.privateKey).toString('base64')}\n`);
const server = createServer((req, res) => {
  res.setHeader('connection', 'close');
  const bytes = files[(req.url ?? '').replace(/^\/img\//, '')];
  res.statusCode = bytes ? 200 : 404;
  res.end(bytes);
});
await new Promise<void>((r) => server.listen(0, ADDRESS, r));

const bundle = await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' });
const state = join(dir, 'state');
mkdirSync(state);
writeFileSync(join(state, 'config.yaml'), generateMachineConfigs({ clusterName: 'b12', endpoint: `https://${ADDRESS}:6443`, withClusterDiscovery: false, secrets: toConfigSecrets(bundle) }).worker.toYaml());
let writes = 0;
const idle = [process.execPath, '-e', 'setInterval(() => {}, 1000)'];
const node = new TalosNode({
  platform: 'container', stateDir: state, address: ADDRESS, logger: nullLogger, apidCommand: idle, trustdCommand: idle, restartIntervalMs: 200,
  upgradeBoot: (assets) => {
    writes++;
    writeInactiveSlot(root, 'A', assets);
  },
  checkUpgradeBoot: (assets) => checkInactiveSlotFits(root, 'A', assets, 'BOOT (a 4 MiB tmpfs)'),
  trustedImageKey: () => key.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
});
try {
  await node.start();
  const supervisor = node.supervisor;
  try {
    out.actorId = await node.upgrade({ url: `http://${ADDRESS}:${(server.address() as AddressInfo).port}/img/` });
  } catch (err) {
    out.error = err instanceof TalosError ? { code: err.code, message: err.message } : String(err);
  }
  out.writes = writes;
  out.bootUnchanged = !boot.changed();
  out.sameBoot = node.supervisor === supervisor;
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 50);
  const sequences: string[] = [];
  for await (const e of node.events.subscribe({ signal: ac.signal, tailEvents: -1 })) {
    if (e.type === 'machine.SequenceEvent') sequences.push(fromBinary(machinePb.SequenceEventSchema, (e.payload as Any).value).sequence);
  }
  clearTimeout(timer);
  out.sequences = [...new Set(sequences)];
} finally {
  await node[Symbol.asyncDispose]();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  boot.dispose();
}
process.stdout.write(`${JSON.stringify(out)}\n`);
