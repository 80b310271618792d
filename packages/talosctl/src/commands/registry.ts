// The list of talosctl's top-level commands. Each entry carries what the root help shows (name,
// aliases, one-line summary, group) and a loader for the modules that declare the command in full.
// Keeping this table apart from the command modules is what makes the CLI start fast: `--help`
// and every command load only the modules they need, not every command's dependencies (the
// machine API's protobuf descriptors, the config schema, the provisioner).
//
// Adding a command: write its module under commands/<verb>/ exporting a CommandRegistrar, then add
// one entry here. A test checks that every entry's summary and aliases match what its module declares.

import type { CommandRegistrar } from '../cli.ts';

/** Root help sections, in upstream's order and wording. */
export const commandGroups = {
  talos: 'Manage running Talos clusters:',
  mgmt: 'Commands to generate and manage machine configuration offline:',
  cluster: 'Local Talos cluster commands:',
} as const;

/** One top-level command as the root help lists it, and how to load it. */
export interface CommandEntry {
  readonly name: string;
  readonly aliases?: readonly string[];
  readonly summary: string;
  readonly group: keyof typeof commandGroups;
  /** Left out of the root help, as upstream hides them (they still run). */
  readonly hidden?: boolean;
  /** Imports the modules that register this command (and its subcommands) on the root. */
  readonly load: () => Promise<readonly CommandRegistrar[]>;
}

/** Every top-level command, sorted by name as cobra sorts them. */
export const commandRegistry: readonly CommandEntry[] = [
  {
    name: 'apply-config',
    aliases: ['apply'],
    summary: 'Apply a new configuration to a node',
    group: 'talos',
    load: async () => [(await import('./apply-config/apply-config.ts')).registerApplyConfig],
  },
  {
    name: 'bootstrap',
    summary: 'Bootstrap the etcd cluster on the specified node.',
    group: 'talos',
    load: async () => [(await import('./bootstrap/bootstrap.ts')).registerBootstrap],
  },
  {
    name: 'cgroups',
    aliases: ['cg'],
    summary: 'Retrieve cgroups usage information',
    group: 'talos',
    load: async () => [(await import('./cgroups/cgroups.ts')).registerCgroups],
  },
  {
    name: 'cluster',
    summary: 'A collection of commands for managing local docker-based or QEMU-based clusters',
    group: 'cluster',
    load: async () => {
      const [create, destroy, show] = await Promise.all([import('./cluster/create.ts'), import('./cluster/destroy.ts'), import('./cluster/show.ts')]);
      return [create.registerClusterCreate, destroy.registerClusterDestroy, show.registerClusterShow];
    },
  },
  {
    name: '__complete',
    summary: 'Answer the completion scripts',
    group: 'talos',
    hidden: true,
    load: async () => [(await import('./completion/completion.ts')).registerCompleteCallback],
  },
  {
    name: 'completion',
    summary: 'Generate the autocompletion script for the specified shell',
    group: 'talos',
    load: async () => [(await import('./completion/completion.ts')).registerCompletion],
  },
  {
    name: 'config',
    summary: 'Manage the client configuration file (talosconfig)',
    group: 'talos',
    load: async () => {
      const m = await Promise.all([
        import('./config/add.ts'),
        import('./config/context.ts'),
        import('./config/contexts.ts'),
        import('./config/endpoint.ts'),
        import('./config/info.ts'),
        import('./config/merge.ts'),
        import('./config/node.ts'),
        import('./config/remove.ts'),
        import('./config/new.ts'),
        import('./config/proxy-url.ts'),
      ]);
      return [
        m[0].registerConfigAdd,
        m[1].registerConfigContext,
        m[2].registerConfigContexts,
        m[3].registerConfigEndpoint,
        m[4].registerConfigInfo,
        m[5].registerConfigMerge,
        m[6].registerConfigNode,
        m[7].registerConfigRemove,
        m[8].registerConfigNew,
        m[9].registerConfigProxyUrl,
      ];
    },
  },
  {
    name: 'containers',
    aliases: ['c'],
    summary: 'List containers',
    group: 'talos',
    load: async () => [(await import('./containers/containers.ts')).registerContainers],
  },
  {
    name: 'copy',
    aliases: ['cp'],
    summary: 'Copy data out from the node',
    group: 'talos',
    load: async () => [(await import('./copy/copy.ts')).registerCopy],
  },
  {
    name: 'dashboard',
    summary: 'Cluster dashboard with node overview, logs and real-time metrics',
    group: 'talos',
    load: async () => [(await import('./dashboard/dashboard.ts')).registerDashboard],
  },
  {
    name: 'diskfree',
    aliases: ['df'],
    summary: 'Retrieve disk usage information for mounted volumes',
    group: 'talos',
    load: async () => [(await import('./diskfree/diskfree.ts')).registerDiskFree],
  },
  {
    name: 'disks',
    summary: 'Get the list of disks from /sys/block on the machine',
    group: 'talos',
    hidden: true,
    load: async () => [(await import('./disks/disks.ts')).registerDisks],
  },
  {
    name: 'dmesg',
    summary: 'Retrieve kernel logs',
    group: 'talos',
    load: async () => [(await import('./dmesg/dmesg.ts')).registerDmesg],
  },
  {
    name: 'docs',
    summary: 'Generate documentation for the CLI or config',
    group: 'talos',
    hidden: true,
    load: async () => [(await import('./docs/docs.ts')).registerDocs],
  },
  {
    name: 'edit',
    summary: 'Edit machine configuration with the default editor',
    group: 'talos',
    load: async () => [(await import('./edit/edit.ts')).registerEdit],
  },
  {
    name: 'etcd',
    summary: 'Manage etcd',
    group: 'talos',
    load: async () => {
      const m = await Promise.all([
        import('./etcd/members.ts'),
        import('./etcd/remove-member.ts'),
        import('./etcd/leave.ts'),
        import('./etcd/forfeit-leadership.ts'),
        import('./etcd/snapshot.ts'),
        import('./etcd/status.ts'),
        import('./etcd/alarm.ts'),
      ]);
      return [
        m[0].registerEtcdMembers,
        m[1].registerEtcdRemoveMember,
        m[2].registerEtcdLeave,
        m[3].registerEtcdForfeitLeadership,
        m[4].registerEtcdSnapshot,
        m[5].registerEtcdStatus,
        m[6].registerEtcdAlarm,
        m[6].registerEtcdDefrag,
      ];
    },
  },
  {
    name: 'events',
    summary: 'Stream runtime events',
    group: 'talos',
    load: async () => [(await import('./events/events.ts')).registerEvents],
  },
  {
    name: 'gen',
    summary: 'Generate base secrets, machine configuration, and other files.',
    group: 'mgmt',
    load: async () => {
      const m = await Promise.all([
        import('./gen/secrets.ts'),
        import('./gen/ca.ts'),
        import('./gen/key.ts'),
        import('./gen/keypair.ts'),
        import('./gen/csr.ts'),
        import('./gen/crt.ts'),
        import('./gen/config.ts'),
      ]);
      return [m[0].registerGenSecrets, m[1].registerGenCa, m[2].registerGenKey, m[3].registerGenKeypair, m[4].registerGenCsr, m[5].registerGenCrt, m[6].registerGenConfig];
    },
  },
  {
    name: 'get',
    aliases: ['g'],
    summary: "Get a specific resource or list of resources (use 'talosctl get rd' to list all resource types)",
    group: 'talos',
    load: async () => [(await import('./get/get.ts')).registerGet],
  },
  {
    name: 'health',
    summary: 'Check cluster health',
    group: 'talos',
    load: async () => [(await import('./health/health.ts')).registerHealth],
  },
  {
    name: 'image',
    aliases: ['images'],
    summary: 'Manage container images',
    group: 'talos',
    load: async () => [(await import('./image/image.ts')).registerImage],
  },
  {
    name: 'inspect',
    summary: 'Inspect internals of Talos',
    group: 'talos',
    load: async () => [(await import('./inspect/dependencies.ts')).registerInspectDependencies],
  },
  {
    name: 'kubeconfig',
    summary: 'Download the admin kubeconfig from the node',
    group: 'talos',
    load: async () => [(await import('./kubeconfig/kubeconfig.ts')).registerKubeconfig],
  },
  {
    name: 'list',
    aliases: ['ls'],
    summary: 'Retrieve a directory listing',
    group: 'talos',
    load: async () => [(await import('./list/list.ts')).registerList],
  },
  {
    name: 'logs',
    summary: 'Retrieve logs for a service',
    group: 'talos',
    load: async () => [(await import('./logs/logs.ts')).registerLogs],
  },
  {
    name: 'machineconfig',
    aliases: ['mc'],
    summary: 'Machine config related commands',
    group: 'mgmt',
    load: async () => [(await import('./machineconfig/patch.ts')).registerMachineConfigPatch],
  },
  {
    name: 'memory',
    aliases: ['m'],
    summary: 'Show memory usage',
    group: 'talos',
    load: async () => [(await import('./memory/memory.ts')).registerMemory],
  },
  {
    name: 'meta',
    summary: 'Write and delete keys in the META partition',
    group: 'talos',
    load: async () => [(await import('./meta/meta.ts')).registerMeta],
  },
  {
    name: 'mounts',
    aliases: ['mount'],
    summary: 'List mounts',
    group: 'talos',
    load: async () => [(await import('./mounts/mounts.ts')).registerMounts],
  },
  {
    name: 'netstat',
    aliases: ['ss'],
    summary: 'Show network connections and sockets',
    group: 'talos',
    load: async () => [(await import('./netstat/netstat.ts')).registerNetstat],
  },
  {
    name: 'patch',
    summary: 'Patch machine configuration of a Talos node with a strategic merge or JSON patch',
    group: 'talos',
    load: async () => [(await import('./patch/patch.ts')).registerPatch],
  },
  {
    name: 'processes',
    aliases: ['ps', 'p'],
    summary: 'List running processes',
    group: 'talos',
    load: async () => [(await import('./processes/processes.ts')).registerProcesses],
  },
  {
    name: 'read',
    aliases: ['cat'],
    summary: 'Read a file on the machine',
    group: 'talos',
    load: async () => [(await import('./read/read.ts')).registerRead],
  },
  {
    name: 'reboot',
    summary: 'Reboot a node',
    group: 'talos',
    load: async () => [(await import('./reboot/reboot.ts')).registerReboot],
  },
  {
    name: 'rollback',
    summary: 'Rollback a node to the previous installation',
    group: 'talos',
    load: async () => [(await import('./rollback/rollback.ts')).registerRollback],
  },
  {
    name: 'reset',
    summary: 'Reset a node',
    group: 'talos',
    load: async () => [(await import('./reset/reset.ts')).registerReset],
  },
  {
    name: 'restart',
    summary: 'Restart a process',
    group: 'talos',
    load: async () => [(await import('./restart/restart.ts')).registerRestart],
  },
  {
    name: 'service',
    aliases: ['services'],
    summary: 'Retrieve the state of a service (or all services), control service state',
    group: 'talos',
    load: async () => [(await import('./service/service.ts')).registerService],
  },
  {
    name: 'shutdown',
    summary: 'Shutdown a node',
    group: 'talos',
    load: async () => [(await import('./shutdown/shutdown.ts')).registerShutdown],
  },
  {
    name: 'stats',
    summary: 'Get container stats',
    group: 'talos',
    load: async () => [(await import('./stats/stats.ts')).registerStats],
  },
  {
    name: 'support',
    summary: 'Dump debug information about the cluster',
    group: 'talos',
    load: async () => [(await import('./support/support.ts')).registerSupport],
  },
  {
    name: 'time',
    summary: 'Gets current server time',
    group: 'talos',
    load: async () => [(await import('./time/time.ts')).registerTime],
  },
  {
    name: 'upgrade',
    summary: 'Upgrade Talos on the target node',
    group: 'talos',
    load: async () => [(await import('./upgrade/upgrade.ts')).registerUpgrade],
  },
  {
    name: 'usage',
    aliases: ['du'],
    summary: 'Retrieve a disk usage',
    group: 'talos',
    load: async () => [(await import('./usage/usage.ts')).registerUsage],
  },
  {
    name: 'validate',
    summary: 'Validate config',
    group: 'mgmt',
    load: async () => [(await import('./validate/validate.ts')).registerValidate],
  },
  {
    name: 'version',
    summary: 'Prints the version',
    group: 'talos',
    load: async () => [(await import('./version/version.ts')).registerVersion],
  },
];

/** The entry named (or aliased) `word`, if any. */
export function findCommandEntry(word: string): CommandEntry | undefined {
  return commandRegistry.find((e) => e.name === word || e.aliases?.includes(word));
}
