import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { parseDocument, visit } from 'yaml';
import {
  DEFAULT_DNS_DOMAIN,
  DEFAULT_INSTALL_DISK,
  DEFAULT_KUBERNETES_VERSION,
  applyPatches,
  generateAdminTalosconfig,
  generateMachineConfigs,
  generateSecretsBundle,
  loadSecretsBundle,
  serializeTalosconfig,
  toConfigSecrets,
  validateConfig,
  formatIssue,
  type ConfigPatch,
  type MachineConfig,
} from '@talos-ts/machinery';
import { CliError, arrayFlag, listFlag, type CliIo, type CommandRegistrar } from '../../cli.ts';
import { resolvePatches } from '../../patches.ts';
import { ensureWritable, forceFlag, genGroup, writeSecretFile } from './gen.ts';

const outputTypes = ['controlplane', 'worker', 'talosconfig'] as const;
type OutputType = (typeof outputTypes)[number];

/** The config text as generated (with a comment documenting every field), or without any comment. */
function withDocs(text: string, docs: boolean): string {
  if (docs) return text;
  const doc = parseDocument(text);
  doc.commentBefore = null;
  doc.comment = null;
  visit(doc, {
    Node(_, node) {
      node.commentBefore = null;
      node.comment = null;
    },
  });
  return doc.toString();
}

interface Flags {
  withDocs?: boolean;
  output?: string;
  outputDir?: string;
  outputTypes: string[];
  withSecrets?: string;
  configPatch: string[];
  configPatchControlPlane: string[];
  configPatchWorker: string[];
  kubernetesVersion: string;
  installDisk: string;
  installImage?: string;
  additionalSans: string[];
  dnsDomain: string;
  withClusterDiscovery: boolean;
  withKubespan?: boolean;
  force?: boolean;
}

const fileNames: Record<OutputType, string> = {
  controlplane: 'controlplane.yaml',
  worker: 'worker.yaml',
  talosconfig: 'talosconfig',
};

function patched(cfg: MachineConfig, patches: readonly ConfigPatch[], role: string): MachineConfig {
  if (patches.length === 0) return cfg;
  const r = applyPatches(cfg, patches);
  if (r.error) throw new CliError(`${role}: ${r.error.message}`);
  return r.value;
}

/** Generated configs must be valid as they leave: a patch that breaks one is an error here, not at boot. */
function checked(cfg: MachineConfig, role: string): MachineConfig {
  const result = validateConfig(cfg, { mode: 'metal' });
  if (result.errors.length > 0) {
    throw new CliError(`generated ${role} config is invalid:\n${result.errors.map((e) => formatIssue(role, e)).join('\n')}`);
  }
  return cfg;
}

/**
 * `talosctl gen config <cluster name> <cluster endpoint>`: secrets (new or from --with-secrets),
 * controlplane.yaml, worker.yaml and an admin talosconfig, with patches applied.
 */
export const registerGenConfig: CommandRegistrar = (parent: Command, io: CliIo) => {
  genGroup(parent)
    .command('config <cluster-name> <cluster-endpoint>')
    .description('Generates a set of configuration files for Talos cluster')
    .option('-o, --output <path>', 'destination to output generated files; a file or "-" for a single output type')
    .option('--output-dir <dir>', 'destination to output generated files (deprecated: use --output)')
    .option('-t, --output-types <types>', 'types of outputs to be generated: controlplane, worker, talosconfig', listFlag, [])
    .option('--with-secrets <file>', "use a secrets file generated using 'gen secrets'")
    .option('--config-patch <patch>', 'patch generated machineconfigs (applied to all node types), use @file to read a patch from file', arrayFlag, [])
    .option('--config-patch-control-plane <patch>', 'patch generated machineconfigs (applied to controlplane type)', arrayFlag, [])
    .option('--config-patch-worker <patch>', 'patch generated machineconfigs (applied to worker type)', arrayFlag, [])
    .option('--kubernetes-version <version>', 'desired kubernetes version to run', DEFAULT_KUBERNETES_VERSION)
    .option('--install-disk <disk>', 'the disk to install to', DEFAULT_INSTALL_DISK)
    .option('--install-image <image>', 'the image used to perform an installation')
    .option('--additional-sans <sans>', 'additional Subject-Alt-Names for the APIServer certificate', listFlag, [])
    .option('--dns-domain <domain>', 'the dns domain to use for cluster', DEFAULT_DNS_DOMAIN)
    .option('--with-cluster-discovery', 'enable cluster discovery feature (default)', true)
    .option('--no-with-cluster-discovery', 'disable cluster discovery feature')
    .option('--with-kubespan', 'enable KubeSpan feature')
    .option('--with-docs', 'renders all machine configs adding the documentation for each field', true)
    // Upstream also writes commented examples; ours has none yet, so the flag is accepted (scripts
    // pass it, often as =false) and changes nothing.
    .option('--with-examples', 'renders all machine configs with the commented examples (accepted; Talos-TS has no examples to add)', true)
    .option(...forceFlag)
    .action(async (clusterName: string, endpoint: string, flags: Flags) => {
      const types = (flags.outputTypes.length > 0 ? flags.outputTypes : [...outputTypes]) as OutputType[];
      for (const t of types) {
        if (!outputTypes.includes(t)) throw new CliError(`invalid output type "${t}": want one of ${outputTypes.join(', ')}`);
      }
      if (!/^https:\/\/.+:\d+/.test(endpoint)) {
        throw new CliError(`cluster endpoint "${endpoint}" must be an https URL with a port, e.g. https://10.5.0.2:6443`);
      }
      const toStdout = flags.output === '-';
      if (toStdout && types.length !== 1) throw new CliError('output "-" requires exactly one --output-types value');
      const single = types.length === 1 && flags.output !== undefined && !toStdout && flags.outputDir === undefined;
      const dir = flags.outputDir ?? (single ? '.' : (flags.output ?? '.'));
      const target = (t: OutputType): string => (single ? (flags.output as string) : join(dir, fileNames[t]));
      if (!toStdout) ensureWritable(types.map(target), flags.force);

      const [common, cpOnly, workerOnly] = await Promise.all([
        resolvePatches(flags.configPatch),
        resolvePatches(flags.configPatchControlPlane),
        resolvePatches(flags.configPatchWorker),
      ]);
      const bundle = flags.withSecrets ? await loadSecretsBundle(flags.withSecrets) : await generateSecretsBundle();
      const generated = generateMachineConfigs({
        clusterName,
        endpoint,
        kubernetesVersion: flags.kubernetesVersion,
        installDisk: flags.installDisk,
        ...(flags.installImage ? { installImage: flags.installImage } : {}),
        additionalSans: flags.additionalSans,
        dnsDomain: flags.dnsDomain,
        withClusterDiscovery: flags.withClusterDiscovery,
        withKubeSpan: flags.withKubespan === true,
        secrets: toConfigSecrets(bundle),
      });

      const outputs = new Map<OutputType, { text: string; secret: boolean }>();
      for (const t of types) {
        if (t === 'controlplane') {
          const cfg = checked(patched(patched(generated.controlplane, common, t), cpOnly, t), t);
          outputs.set(t, { text: withDocs(cfg.toYaml(), flags.withDocs !== false), secret: true });
        } else if (t === 'worker') {
          const cfg = checked(patched(patched(generated.worker, common, t), workerOnly, t), t);
          outputs.set(t, { text: withDocs(cfg.toYaml(), flags.withDocs !== false), secret: true });
        } else {
          const talosconfig = await generateAdminTalosconfig({ contextName: clusterName, endpoints: ['127.0.0.1'], osCa: bundle.certs.os });
          outputs.set(t, { text: serializeTalosconfig(talosconfig), secret: true });
        }
      }

      if (toStdout) {
        for (const { text } of outputs.values()) io.out(text);
        return;
      }
      if (!single) await mkdir(dir, { recursive: true });
      for (const [t, { text }] of outputs) {
        const file = target(t);
        await writeSecretFile(file, text);
        io.err(`created ${file}\n`);
      }
    });
};
