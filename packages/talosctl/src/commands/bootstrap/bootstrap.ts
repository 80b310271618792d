import { open } from 'node:fs/promises';
import type { Command } from 'commander';
import { withApiClient } from '../../api.ts';
import { CliError, type CliIo, type CommandRegistrar } from '../../cli.ts';
import { checkLifecycle } from '../reboot/reboot.ts';
import { requireOneNode } from '../etcd/etcd.ts';

const chunkBytes = 64 * 1024;

async function* chunks(path: string): AsyncIterable<{ bytes: Uint8Array }> {
  const file = await open(path, 'r').catch((err: unknown) => {
    throw new CliError(`error opening snapshot file: ${(err as Error).message}`);
  });
  try {
    for (;;) {
      const buf = Buffer.alloc(chunkBytes);
      const { bytesRead } = await file.read(buf, 0, chunkBytes);
      if (bytesRead === 0) return;
      yield { bytes: buf.subarray(0, bytesRead) };
    }
  } finally {
    await file.close();
  }
}

/** `talosctl bootstrap`: makes the node the first etcd member (optionally recovering from a snapshot). */
export const registerBootstrap: CommandRegistrar = (parent: Command, _io: CliIo) => {
  parent
    .command('bootstrap')
    .description('Bootstrap the etcd cluster on the specified node.')
    .option('--recover-from <path>', 'recover etcd cluster from the snapshot')
    .option('--recover-skip-hash-check', 'skip integrity check when recovering etcd (use when recovering from data directory copy)', false)
    .action(async (opts: { recoverFrom?: string; recoverSkipHashCheck: boolean }, cmd: Command) => {
      await withApiClient(cmd, async (s) => {
        requireOneNode(s.nodes, 'bootstrap');
        if (opts.recoverFrom !== undefined) {
          const r = await s.client.machine.etcdRecover(chunks(opts.recoverFrom), { signal: s.signal });
          checkLifecycle(r.messages, s.nodeName);
        }
        const res = await s.client.machine.bootstrap(
          { recoverEtcd: opts.recoverFrom !== undefined, recoverSkipHashCheck: opts.recoverSkipHashCheck },
          { signal: s.signal },
        );
        checkLifecycle(res.messages, s.nodeName);
      });
    });
};
