import type { Command } from 'commander';
import { machinePb } from '@talos-ts/machinery';
import { NodeErrors, withApiClient } from '../../api.ts';
import { CliError, type CliIo, type CommandRegistrar } from '../../cli.ts';

/** Reports per-node failures of a lifecycle reply (reboot, shutdown, reset). */
export function checkLifecycle(messages: readonly { metadata?: { hostname: string; error: string } | undefined }[], nodeName: (h: string | undefined) => string): void {
  const errors = new NodeErrors();
  for (const m of messages) errors.check(m.metadata, nodeName);
  errors.throwIfAny();
}

/** `talosctl reboot`: reboots the nodes (--mode powercycle skips kexec). */
export const registerReboot: CommandRegistrar = (parent: Command, _io: CliIo) => {
  parent
    .command('reboot')
    .description('Reboot a node')
    .option('-m, --mode <mode>', 'select the reboot mode: "default", "powercycle" (skips kexec)', 'default')
    .action(async (opts: { mode: string }, cmd: Command) => {
      const mode = opts.mode === 'default' ? machinePb.RebootRequest_Mode.DEFAULT : opts.mode === 'powercycle' ? machinePb.RebootRequest_Mode.POWERCYCLE : undefined;
      if (mode === undefined) throw new CliError(`invalid reboot mode: "${opts.mode}"`);
      await withApiClient(cmd, async (s) => checkLifecycle((await s.client.machine.reboot({ mode }, { signal: s.signal })).messages, s.nodeName));
    });
};
