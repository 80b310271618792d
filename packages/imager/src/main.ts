import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '@talos-ts/cosi';
import { buildImage } from './build/image.ts';
import { pushInstaller } from './build/installer.ts';
import { verifyImage, type CompressionPreset } from './manifest.ts';

const usage = `Usage:
  talos-imager build [--compression fast|small] [--out DIR] [--signing-key KEY.pem] [--reuse-build]
                     [--extra-kernel-arg ARG]... [--version VERSION] [--disk=false]
  talos-imager verify DIR [--public-key KEY.pub]
  talos-imager push DIR REF [--insecure]

build   makes _out/talos-ts-<version>-<preset>/ (vmlinuz, initramfs.img, rootfs.sqsh, the installer's
        boot.img, core.img and rootfs.cpio, a signed manifest, disk.raw: a disk booting through BIOS
        and GRUB with slot A populated, and installer/: the installer as an OCI image layout tagged
        with the version). Extra kernel arguments go into the boot entries and the manifest, so an
        upgrade to this image boots with them. --version stamps another release: the node's
        programs are rebuilt with that tag (default: package.json's)
verify  checks the manifest signature and every artifact's digest
push    uploads DIR's installer image (or DIR itself when it is an OCI layout) to a registry as
        REF (host[:port]/repo:tag) over the distribution API; plain HTTP for loopback hosts, or for
        any host with --insecure (a registry on a cluster bridge)
`;

/** The talos-imager command line; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        compression: { type: 'string', default: 'fast' },
        out: { type: 'string' },
        'signing-key': { type: 'string' },
        'public-key': { type: 'string' },
        'reuse-build': { type: 'boolean', default: false },
        'extra-kernel-arg': { type: 'string', multiple: true },
        version: { type: 'string' },
        // A string, so `--disk=false` parses (parseArgs has no negated booleans on Node 20).
        disk: { type: 'string', default: 'true' },
        insecure: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    process.stderr.write(`talos-imager: ${(err as Error).message}\n\n${usage}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [cmd, arg] = positionals;
  if (values.help || !cmd) {
    process.stdout.write(usage);
    return values.help ? 0 : 2;
  }
  if (cmd === 'build') {
    if (values.compression !== 'fast' && values.compression !== 'small') {
      process.stderr.write(`talos-imager: --compression must be fast or small\n`);
      return 2;
    }
    if (values.version !== undefined && !/^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(values.version)) {
      process.stderr.write(`talos-imager: --version must be a semantic version (1.2.3 or v1.2.3-rc.1), got ${values.version}\n`);
      return 2;
    }
    if (values.disk !== 'true' && values.disk !== 'false') {
      process.stderr.write(`talos-imager: --disk must be true or false, got ${values.disk}\n`);
      return 2;
    }
    const repoRoot = resolve(new URL('../../..', import.meta.url).pathname);
    const image = await buildImage({
      repoRoot,
      compression: values.compression as CompressionPreset,
      reuseBuild: values['reuse-build'] ?? false,
      disk: values.disk === 'true',
      ...(values['extra-kernel-arg'] ? { extraKernelArgs: values['extra-kernel-arg'] } : {}),
      ...(values.version ? { version: values.version } : {}),
      logger: createLogger({ level: 'info' }),
      ...(values.out ? { outDir: resolve(values.out) } : {}),
      ...(values['signing-key'] ? { signingKeyPem: readFileSync(values['signing-key'], 'utf8') } : {}),
    });
    const sizes = Object.entries(image.manifest.artifacts).map(([n, a]) => `${n} ${(a.sizeBytes / 1e6).toFixed(1)} MB`);
    process.stdout.write(`${image.dir}\n  ${sizes.join(', ')}\n  revision ${image.manifest.gitRevision}\n`);
    return 0;
  }
  if (cmd === 'verify') {
    if (!arg) {
      process.stderr.write(`talos-imager: verify needs an image directory\n`);
      return 2;
    }
    const r = await verifyImage(resolve(arg), values['public-key'] ? { publicKeyPem: readFileSync(values['public-key'], 'utf8') } : {});
    if ('error' in r) {
      process.stderr.write(`talos-imager: verify failed: ${r.error}\n`);
      return 1;
    }
    process.stdout.write(`ok: ${r.value.version} (${r.value.gitRevision}), ${Object.keys(r.value.rootfsFiles).length} root files\n`);
    return 0;
  }
  if (cmd === 'push') {
    const ref = positionals[2];
    if (!arg || !ref) {
      process.stderr.write(`talos-imager: push needs an image directory and a reference\n`);
      return 2;
    }
    try {
      const r = await pushInstaller(resolve(arg), ref, { insecure: values.insecure ?? false });
      process.stdout.write(`${r.reference}@${r.manifestDigest} (${r.uploaded} blobs sent, ${r.skipped} already there)\n`);
      return 0;
    } catch (err) {
      process.stderr.write(`talos-imager: push failed: ${(err as Error).message}\n`);
      return 1;
    }
  }
  process.stderr.write(`talos-imager: unknown command ${cmd}\n\n${usage}`);
  return 2;
}
