import { StringDecoder } from 'node:string_decoder';
import type { Command } from 'commander';
import { withApiClient } from '../../api.ts';
import { CliError, type CliIo, type CommandRegistrar } from '../../cli.ts';
import { requireOneNode } from '../etcd/etcd.ts';

/** `talosctl read <path>` (alias `cat`): prints a file of the node. */
export const registerRead: CommandRegistrar = (parent: Command, io: CliIo) => {
  parent
    .command('read')
    .alias('cat')
    .description('Read a file on the machine')
    .argument('<path>', 'absolute path of a regular file on the node')
    .action(async (path: string, _opts: unknown, cmd: Command) => {
      await withApiClient(cmd, async (s) => {
        requireOneNode(s.nodes, 'read');
        // The decoder keeps a character split across two chunks whole.
        const text = new StringDecoder('utf8');
        for await (const chunk of s.client.machine.read({ path }, { signal: s.signal })) {
          if (chunk.metadata?.error) throw new CliError(chunk.metadata.error);
          io.out(text.write(Buffer.from(chunk.bytes)));
        }
        io.out(text.end());
      });
    });
};
