import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon } from './daemon.ts';
import { onPath } from './on-path.ts';

/** A running containerd of a test's own (root, state and socket in a temp dir); dispose it to stop it. */
export interface ContainerdServer extends AsyncDisposable {
  /** Its gRPC unix socket. */
  readonly socket: string;
  /** Its root directory (the content store lives under `io.containerd.content.v1.content`). */
  readonly root: string;
  stop(): Promise<void>;
}

/** Whether Debian's containerd is installed (scripts/ensure-deps.sh test). */
export function hasContainerd(): boolean {
  return onPath('containerd');
}

/**
 * Starts the real containerd with everything under a fresh temporary directory and the plugins a
 * content/image test does not use turned off (the CRI, snapshotters needing other filesystems);
 * resolves once its socket accepts connections.
 */
export async function startContainerd(): Promise<ContainerdServer> {
  const dir = mkdtempSync(join(tmpdir(), 'ctrd-'));
  const root = join(dir, 'root');
  const socket = join(dir, 'c.sock');
  const conf = join(dir, 'config.toml');
  const disabled = ['io.containerd.grpc.v1.cri', 'io.containerd.snapshotter.v1.aufs', 'io.containerd.snapshotter.v1.btrfs', 'io.containerd.snapshotter.v1.devmapper', 'io.containerd.snapshotter.v1.zfs', 'io.containerd.internal.v1.tracing'];
  writeFileSync(
    conf,
    [
      'version = 2',
      `root = ${JSON.stringify(root)}`,
      `state = ${JSON.stringify(join(dir, 'state'))}`,
      `disabled_plugins = ${JSON.stringify(disabled)}`,
      '[grpc]',
      `  address = ${JSON.stringify(socket)}`,
      '[ttrpc]',
      `  address = ${JSON.stringify(`${socket}.ttrpc`)}`,
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = ${JSON.stringify(join(root, 'opt'))}`,
    ].join('\n') + '\n',
  );
  const { stop } = await startDaemon({ command: 'containerd', args: ['--config', conf], dir, tries: 200, what: `listen on ${socket}`, ready: async () => existsSync(socket) && (await accepts(socket)) });
  return { socket, root, stop, [Symbol.asyncDispose]: stop };
}

function accepts(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
