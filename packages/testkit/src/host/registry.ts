import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon } from './daemon.ts';
import { onPath } from './on-path.ts';

/** A running docker-registry (Debian's distribution 2.8); dispose it to stop it and remove its storage. */
export interface RegistryServer extends AsyncDisposable {
  /** `address:port`, the registry part of an image reference. */
  readonly host: string;
  /** Its filesystem storage root (tests corrupt blobs under `docker/registry/v2/blobs`). */
  readonly storage: string;
  /** The file holding the bytes of a blob, as the filesystem driver lays it out. */
  blobPath(digest: string): string;
  stop(): Promise<void>;
}

/** Whether Debian's docker-registry is installed (scripts/ensure-deps.sh test). */
export function hasDockerRegistry(): boolean {
  return onPath('docker-registry');
}

/**
 * Starts the real docker-registry on address:port, config and storage in a fresh temporary
 * directory; resolves once `/v2/` answers.
 */
export async function startRegistry(options: { address: string; port: number }): Promise<RegistryServer> {
  const dir = mkdtempSync(join(tmpdir(), 'talos-registry-'));
  const storage = join(dir, 'storage');
  const conf = join(dir, 'config.yml');
  writeFileSync(
    conf,
    [
      'version: 0.1',
      'log: { level: warn, accesslog: { disabled: true } }',
      `storage: { filesystem: { rootdirectory: ${storage} }, delete: { enabled: true } }`,
      `http: { addr: "${options.address}:${options.port}" }`,
    ].join('\n') + '\n',
  );
  const host = `${options.address}:${options.port}`;
  const { stop } = await startDaemon({ command: 'docker-registry', args: ['serve', conf], dir, tries: 100, what: `answer on ${host}`, ready: () => answers(host) });
  return {
    host,
    storage,
    blobPath: (digest) => join(storage, 'docker/registry/v2/blobs/sha256', digest.slice(7, 9), digest.slice(7), 'data'),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

function answers(host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(`http://${host}/v2/`, { timeout: 500 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}
