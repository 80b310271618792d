import type { Command } from 'commander';
import { applyPatches, loadConfig } from '@talos-ts/machinery';
import { NodeErrors, withApiClient } from '../../api.ts';
import { CliError, arrayFlag, type CliIo, type CommandRegistrar } from '../../cli.ts';
import { addModeFlags, modeRequest, printApplyResults } from '../../mode.ts';
import { resolvePatches } from '../../patches.ts';
import { nodeTargets } from '../../targets.ts';
import { parseDurationSeconds } from '../events/events.ts';
import { MACHINE_CONFIG, fetchMachineConfig, isMachineConfigType } from '../edit/machineconfig.ts';

interface PatchFlags {
  patch: string[];
  patchFile?: string;
  mode: string;
  dryRun?: boolean;
  timeout: string;
}

/** `talosctl patch machineconfig -p PATCH`: patches each node's live machine config and applies it. */
export const registerPatch: CommandRegistrar = (parent: Command, io: CliIo) => {
  addModeFlags(
    parent
      .command('patch')
      .description('Patch machine configuration of a Talos node with a strategic merge or JSON patch')
      .argument('<type>', 'resource type: machineconfig (mc)')
      .argument('[id]', 'resource id', MACHINE_CONFIG.id)
      .option('-p, --patch <patch>', 'the patch to be applied to the resource file, use @file to read a patch from file', arrayFlag, [])
      .option('--patch-file <file>', 'a file containing a patch to be applied to the resource'),
  ).action(async (type: string, id: string, flags: PatchFlags, cmd: Command) => {
    if (!isMachineConfigType(type) || id !== MACHINE_CONFIG.id) throw new CliError('only the machineconfig resource can be patched');
    const specs = [...flags.patch, ...(flags.patchFile ? [`@${flags.patchFile}`] : [])];
    if (specs.length === 0) throw new CliError('either --patch or --patch-file should be defined');
    const patches = await resolvePatches(specs);
    const mode = modeRequest(flags, parseDurationSeconds);
    await withApiClient(cmd, async (s) => {
      const errors = new NodeErrors();
      for (const { node, client } of nodeTargets(s)) {
        try {
          const loaded = loadConfig(await fetchMachineConfig(client, s.signal), { filename: `${node}:${MACHINE_CONFIG.id}` });
          if (loaded.error) throw new CliError(loaded.error.message);
          const patched = applyPatches(loaded.value, patches);
          if (patched.error) throw new CliError(patched.error.message);
          const res = await s.client.withNodes([node]).machine.applyConfiguration({ data: Buffer.from(patched.value.toYaml()), ...mode }, { signal: s.signal });
          if (res.messages.some((m) => errors.check(m.metadata, () => node))) continue;
          io.out(`patched ${MACHINE_CONFIG.type}/${MACHINE_CONFIG.id} at the node ${node}\n`);
          printApplyResults(res, io);
        } catch (err) {
          errors.add(node, err);
        }
      }
      errors.throwIfAny();
    });
  });
};
