import { open, rename, rm } from 'node:fs/promises';
import type { Command } from 'commander';
import { withApiClient } from '../../api.ts';
import { CliError, type CliIo, type CommandRegistrar } from '../../cli.ts';
import { etcdGroup, requireOneNode } from './etcd.ts';

/** `talosctl etcd snapshot <path>`: streams a snapshot of the node's etcd database to a file. */
export const registerEtcdSnapshot: CommandRegistrar = (parent: Command, io: CliIo) => {
  etcdGroup(parent)
    .command('snapshot')
    .description('Stream snapshot of the etcd node to the path.')
    .argument('<path>', 'file to write the snapshot to')
    .action(async (path: string, _opts: unknown, cmd: Command) => {
      await withApiClient(cmd, async (s) => {
        requireOneNode(s.nodes, 'etcd snapshot');
        // Written beside the target and renamed at the end, so a failed stream leaves no partial file.
        const partial = `${path}.part`;
        const file = await open(partial, 'w', 0o600).catch((err: unknown) => {
          throw new CliError(`error creating temporary file: ${(err as Error).message}`);
        });
        let size = 0;
        try {
          for await (const chunk of s.client.machine.etcdSnapshot({}, { signal: s.signal })) {
            if (chunk.metadata?.error) throw new CliError(chunk.metadata.error);
            await file.write(chunk.bytes);
            size += chunk.bytes.length;
          }
          await file.close();
          if (size === 0) throw new CliError('snapshot is empty');
          await rename(partial, path);
        } catch (err) {
          await file.close().catch(() => {});
          await rm(partial, { force: true });
          throw err;
        }
        io.out(`etcd snapshot saved to ${JSON.stringify(path)} (${size} bytes)\n`);
      });
    });
};
