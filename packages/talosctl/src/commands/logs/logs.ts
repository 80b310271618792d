import type { Command } from 'commander';
import { commonPb } from '@talos-ts/machinery';
import { NodeErrors, withApiClient } from '../../api.ts';
import { CliError, type CliIo, type CommandRegistrar } from '../../cli.ts';

/** `talosctl logs <service>`: a service's log lines prefixed with their node (-f follows). */
export const registerLogs: CommandRegistrar = (parent: Command, io: CliIo) => {
  parent
    .command('logs')
    .description('Retrieve logs for a service')
    .argument('<service>', 'service id')
    .option('-f, --follow', 'specify if the logs should be streamed')
    .option('--tail <lines>', 'lines of log file to display (default is to show from the beginning)', '-1')
    .option('-k, --kubernetes', 'use the k8s.io containerd namespace')
    .action(async (service: string, opts: { follow?: boolean; tail: string; kubernetes?: boolean }, cmd: Command) => {
      const tail = Number(opts.tail);
      if (!Number.isInteger(tail)) throw new CliError(`invalid argument "${opts.tail}" for "--tail" flag`);
      await withApiClient(cmd, async (s) => {
        const errors = new NodeErrors();
        // Chunks arrive in arbitrary sizes per node: keep each node's partial last line until it completes.
        const partial = new Map<string, string>();
        const stream = s.client.machine.logs(
          {
            namespace: opts.kubernetes ? 'k8s.io' : 'system',
            driver: opts.kubernetes ? commonPb.ContainerDriver.CRI : commonPb.ContainerDriver.CONTAINERD,
            id: service,
            follow: opts.follow === true,
            tailLines: tail,
          },
          { signal: s.signal },
        );
        try {
          for await (const data of stream) {
            if (errors.check(data.metadata, s.nodeName)) continue;
            const node = s.nodeName(data.metadata?.hostname);
            const text = (partial.get(node) ?? '') + Buffer.from(data.bytes).toString('utf8');
            const lines = text.split('\n');
            partial.set(node, lines.pop() ?? '');
            for (const line of lines) io.out(`${node}: ${line}\n`);
          }
        } finally {
          for (const [node, rest] of partial) if (rest !== '') io.out(`${node}: ${rest}\n`);
        }
        errors.throwIfAny();
      });
    });
};
