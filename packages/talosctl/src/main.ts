import { Command, CommanderError } from 'commander';
import { CliError, listFlag, type CliIo } from './cli.ts';
import { registerVersion } from './commands/version/version.ts';
import { registerGenSecrets } from './commands/gen/secrets.ts';
import { registerGenCa } from './commands/gen/ca.ts';
import { registerGenKey } from './commands/gen/key.ts';
import { registerGenKeypair } from './commands/gen/keypair.ts';
import { registerGenCsr } from './commands/gen/csr.ts';
import { registerGenCrt } from './commands/gen/crt.ts';
import { registerGenConfig } from './commands/gen/config.ts';
import { registerConfigAdd } from './commands/config/add.ts';
import { registerConfigContext } from './commands/config/context.ts';
import { registerConfigContexts } from './commands/config/contexts.ts';
import { registerConfigEndpoint } from './commands/config/endpoint.ts';
import { registerConfigInfo } from './commands/config/info.ts';
import { registerConfigMerge } from './commands/config/merge.ts';
import { registerConfigNode } from './commands/config/node.ts';
import { registerConfigRemove } from './commands/config/remove.ts';
import { registerValidate } from './commands/validate/validate.ts';
import { registerMachineConfigPatch } from './commands/machineconfig/patch.ts';
import { registerGet } from './commands/get/get.ts';
import { registerMemory } from './commands/memory/memory.ts';
import { registerService } from './commands/service/service.ts';
import { registerLogs } from './commands/logs/logs.ts';
import { registerDmesg } from './commands/dmesg/dmesg.ts';
import { registerEvents } from './commands/events/events.ts';
import { registerApplyConfig } from './commands/apply-config/apply-config.ts';
import { registerEdit } from './commands/edit/edit.ts';
import { registerPatch } from './commands/patch/patch.ts';
import { registerReboot } from './commands/reboot/reboot.ts';
import { registerShutdown } from './commands/shutdown/shutdown.ts';
import { registerReset } from './commands/reset/reset.ts';
import { registerInspectDependencies } from './commands/inspect/dependencies.ts';
import { registerClusterCreate } from './commands/cluster/create.ts';
import { registerClusterDestroy } from './commands/cluster/destroy.ts';
import { registerClusterShow } from './commands/cluster/show.ts';
import { registerHealth } from './commands/health/health.ts';
import { registerBootstrap } from './commands/bootstrap/bootstrap.ts';
import { registerEtcdMembers } from './commands/etcd/members.ts';
import { registerEtcdRemoveMember } from './commands/etcd/remove-member.ts';
import { registerEtcdLeave } from './commands/etcd/leave.ts';
import { registerEtcdForfeitLeadership } from './commands/etcd/forfeit-leadership.ts';
import { registerEtcdSnapshot } from './commands/etcd/snapshot.ts';
import { registerEtcdStatus } from './commands/etcd/status.ts';
import { registerRead } from './commands/read/read.ts';
import { registerList } from './commands/list/list.ts';
import { registerCopy } from './commands/copy/copy.ts';
import { registerMounts } from './commands/mounts/mounts.ts';
import { registerProcesses } from './commands/processes/processes.ts';
import { registerNetstat } from './commands/netstat/netstat.ts';
import { registerUsage } from './commands/usage/usage.ts';
import { registerDisks } from './commands/disks/disks.ts';
import { registerEtcdAlarm, registerEtcdDefrag } from './commands/etcd/alarm.ts';
import { registerCompletion } from './commands/completion/completion.ts';
import { registerDocs } from './commands/docs/docs.ts';
import { registerConfigNew } from './commands/config/new.ts';
import { registerConfigProxyUrl } from './commands/config/proxy-url.ts';
import { registerKubeconfig } from './commands/kubeconfig/kubeconfig.ts';
import { registerSupport } from './commands/support/support.ts';
import { registerDashboard } from './commands/dashboard/dashboard.ts';

const registrars = [
  registerVersion,
  registerGenSecrets,
  registerGenCa,
  registerGenKey,
  registerGenKeypair,
  registerGenCsr,
  registerGenCrt,
  registerGenConfig,
  registerConfigAdd,
  registerConfigContext,
  registerConfigContexts,
  registerConfigEndpoint,
  registerConfigInfo,
  registerConfigMerge,
  registerConfigNode,
  registerConfigRemove,
  registerValidate,
  registerMachineConfigPatch,
  registerGet,
  registerMemory,
  registerService,
  registerLogs,
  registerDmesg,
  registerEvents,
  registerApplyConfig,
  registerEdit,
  registerPatch,
  registerReboot,
  registerShutdown,
  registerReset,
  registerInspectDependencies,
  registerClusterCreate,
  registerClusterDestroy,
  registerClusterShow,
  registerHealth,
  registerBootstrap,
  registerEtcdMembers,
  registerEtcdRemoveMember,
  registerEtcdLeave,
  registerEtcdForfeitLeadership,
  registerEtcdSnapshot,
  registerEtcdStatus,
  registerRead,
  registerList,
  registerCopy,
  registerMounts,
  registerProcesses,
  registerNetstat,
  registerUsage,
  registerDisks,
  registerEtcdAlarm,
  registerEtcdDefrag,
  registerCompletion,
  registerDocs,
  registerConfigNew,
  registerConfigProxyUrl,
  registerKubeconfig,
  registerSupport,
  registerDashboard,
];

/** Builds the command tree; exported so tests run commands in-process. */
export function buildProgram(io: CliIo): Command {
  const program = new Command('talosctl')
    .description('A CLI for out-of-band management of Kubernetes nodes created by Talos-TS')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .option('--talosconfig <path>', 'the path to the Talos configuration file')
    .option('--context <name>', 'context to be used in command')
    .option('-e, --endpoints <endpoints>', 'override default endpoints in Talos configuration', listFlag, [])
    .option('-n, --nodes <nodes>', 'target the specified nodes', listFlag, []);
  for (const register of registrars) register(program, io);
  return program;
}

/** Runs talosctl with the given arguments and returns the process exit code. */
export async function main(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof CliError) {
      io.err(`error: ${err.message}\n`);
      return err.exitCode;
    }
    io.err(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

const defaultIo: CliIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};
