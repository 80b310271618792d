// The cluster's OCI registry: Debian's docker-registry in the cluster namespace, listening on the
// bridge, holding the installer the nodes install and upgrade from.

import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Code, TalosError } from '@talos-ts/cosi';
import { InstallerFiles, pushImageLayout, writeInstallerLayout, type PushResult } from '@talos-ts/machinery';

/** Fails with the install command when docker-registry is not on PATH. */
export function requireDockerRegistry(): void {
  try {
    execFileSync('sh', ['-c', 'command -v docker-registry'], { stdio: 'ignore' });
  } catch {
    throw new TalosError(Code.FailedPrecondition, 'docker-registry is not installed: install it with: sudo bash scripts/ensure-deps.sh qemu');
  }
}

/** Options of {@link spawnRegistry}. */
export interface SpawnRegistryOptions {
  readonly netns: string;
  /** `address:port` inside the namespace. */
  readonly listen: string;
  /** Its config and storage go in DIR/registry (removed with the cluster directory). */
  readonly dir: string;
  readonly logFile: string;
}

/**
 * Starts docker-registry in a namespace through `ip netns exec` (which execs, so the pid is the
 * registry's), detached so it outlives talosctl. Its config path names the cluster directory, so
 * destroy finds it by scanning /proc even without the state file.
 */
export function spawnRegistry(options: SpawnRegistryOptions): ChildProcess {
  const root = join(options.dir, 'registry');
  mkdirSync(join(root, 'storage'), { recursive: true, mode: 0o700 });
  const config = join(root, 'config.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log: { level: info, accesslog: { disabled: true } }',
      `storage: { filesystem: { rootdirectory: ${join(root, 'storage')} }, delete: { enabled: true } }`,
      `http: { addr: "${options.listen}" }`,
    ].join('\n') + '\n',
  );
  const fd = openSync(options.logFile, 'a', 0o600);
  try {
    return spawn('ip', ['netns', 'exec', options.netns, 'docker-registry', 'serve', config], { detached: true, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
}

/** The files an installer image carries (as talos-imager writes them). */
const INSTALLER_FILES = [...new Set<string>([...Object.values(InstallerFiles), 'manifest.sig', 'signing-key.pub'])];

/** True when a built image carries an installer (its OCI layout, or the files to write one from). */
export function imageHasInstaller(imageDir: string): boolean {
  return existsSync(join(imageDir, 'installer', 'oci-layout')) || INSTALLER_FILES.every((n) => existsSync(join(imageDir, n)));
}

/**
 * Pushes a built image's installer to a registry reached at `registry` (a loopback forward, so
 * plain HTTP) as `repository:tag`, the tag being `v<version>` of the image. An image built before
 * installers were OCI layouts gets its installer/ layout written first. Retries while the
 * registry is not up yet, for at most timeoutMs.
 */
export async function pushClusterInstaller(options: { imageDir: string; registry: string; repository: string; timeoutMs: number; signal?: AbortSignal }): Promise<PushResult & { tag: string }> {
  const manifest = JSON.parse(readFileSync(join(options.imageDir, InstallerFiles.manifest), 'utf8')) as { version: string; gitRevision?: string };
  const tag = `v${manifest.version.replace(/^v/, '')}`;
  const layout = join(options.imageDir, 'installer');
  if (!existsSync(join(layout, 'oci-layout'))) {
    const missing = INSTALLER_FILES.filter((n) => !existsSync(join(options.imageDir, n)));
    if (missing.length > 0) throw new TalosError(Code.FailedPrecondition, `${options.imageDir} has no installer (missing ${missing.join(', ')}): rebuild it with talos-imager build`);
    writeInstallerLayout({ dir: layout, files: INSTALLER_FILES.map((n) => [n, join(options.imageDir, n)] as const), version: tag, revision: manifest.gitRevision ?? 'unknown' });
  }
  const deadline = Date.now() + options.timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      const r = await pushImageLayout(layout, `${options.registry}/${options.repository}:${tag}`, options.signal ? { signal: options.signal } : {});
      return { ...r, tag };
    } catch (err) {
      if (!(err instanceof TalosError) || err.code !== Code.Unavailable || Date.now() > deadline || options.signal?.aborted) throw err;
      await new Promise((r) => setTimeout(r, Math.min(1000, 100 * 2 ** attempt)));
    }
  }
}
