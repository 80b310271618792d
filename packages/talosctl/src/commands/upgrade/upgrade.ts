import type { Command } from 'commander';
import { machinePb } from '@talos-ts/machinery';
import { NodeErrors } from '../../api.ts';
import { CliError, type CliIo, type CommandRegistrar } from '../../cli.ts';
import { actorOf, addTrackFlags, runLifecycle, type TrackFlags } from '../reboot/reboot.ts';

/** Flags of `talosctl upgrade`, as upstream's (those that mean something here). */
interface UpgradeFlags extends TrackFlags {
  image?: string;
  preserve?: boolean;
  stage?: boolean;
  force?: boolean;
  rebootMode: string;
}

/** `talosctl upgrade`: writes a new version into the inactive slot; with --wait, follows the node until it is back. */
export const registerUpgrade: CommandRegistrar = (parent: Command, io: CliIo) => {
  addTrackFlags(
    parent
      .command('upgrade')
      .description('Upgrade Talos on the target node')
      .option('-i, --image <image>', 'the container image to use for performing the install (an installer image reference, or the http(s) URL of an image directory)')
      .option('-p, --preserve', 'preserve data')
      .option('-s, --stage', 'stage the upgrade to perform it after a reboot')
      .option('-f, --force', 'force the upgrade (skip checks on etcd health and members, might lead to data loss)')
      .option('-m, --reboot-mode <mode>', 'select the reboot mode during upgrade. Mode "powercycle" bypasses kexec. Valid values are: ["default" "powercycle"].', 'default'),
  ).action(async (opts: UpgradeFlags, cmd: Command) => {
    const rebootMode =
      opts.rebootMode === 'default' ? machinePb.UpgradeRequest_RebootMode.DEFAULT : opts.rebootMode === 'powercycle' ? machinePb.UpgradeRequest_RebootMode.POWERCYCLE : undefined;
    if (rebootMode === undefined) throw new CliError(`invalid reboot mode: "${opts.rebootMode}"`);
    const request = { image: opts.image ?? '', preserve: opts.preserve === true, stage: opts.stage === true, force: opts.force === true, rebootMode };
    await runLifecycle(cmd, io, opts, {
      all: async (s) => {
        const reply = await s.client.machine.upgrade(request, { signal: s.signal });
        const errors = new NodeErrors();
        const rows: string[][] = [['NODE', 'ACK', 'STARTED']];
        for (const m of reply.messages) {
          if (errors.check(m.metadata, s.nodeName)) continue;
          rows.push([s.nodeName(m.metadata?.hostname), m.ack, goTime(new Date())]);
        }
        io.out(table(rows));
        errors.throwIfAny();
      },
      one: async (client, signal) => actorOf((await client.machine.upgrade(request, { signal })).messages),
      until: 'ready',
    });
  });
};

/** Columns padded by 3 spaces, as Go's tabwriter in upstream's output. */
function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => c.padEnd((widths[i] ?? 0) + 3)).join('').trimEnd()).join('\n') + '\n';
}

/** A time as Go prints time.Now() in UTC (upstream's STARTED column), without the monotonic part. */
function goTime(d: Date): string {
  return `${d.toISOString().replace('T', ' ').replace('Z', '')} +0000 UTC`;
}
