import type { Command } from 'commander';
import { commonPb } from '@talos-ts/machinery';
import { printDataStream, withApiClient } from '../../api.ts';
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
        await printDataStream(stream, s, io);
      });
    });
};
