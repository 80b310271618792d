import type { Command } from 'commander';
import { NodeErrors, withApiClient } from '../../api.ts';
import type { CommandRegistrar } from '../../cli.ts';
import { containerTarget, hiddenUseCri } from '../containers/containers.ts';

/** `talosctl restart <id>`: stops a container's task with SIGTERM so that its supervisor restarts it. */
export const registerRestart: CommandRegistrar = (parent: Command) => {
  parent
    .command('restart')
    .description('Restart a process')
    .argument('<id>', 'container id, as `talosctl containers` shows it')
    .option('-k, --kubernetes', 'use the k8s.io containerd namespace')
    .addOption(hiddenUseCri())
    .action(async (id: string, opts: { kubernetes?: boolean }, cmd: Command) => {
      await withApiClient(cmd, async (s) => {
        const res = await s.client.machine.restart({ ...containerTarget(opts.kubernetes), id }, { signal: s.signal });
        const errors = new NodeErrors();
        for (const m of res.messages) errors.check(m.metadata, s.nodeName);
        errors.throwIfAny();
      });
    });
};
