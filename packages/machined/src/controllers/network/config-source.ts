import { removeUnproduced, type Controller, type ControllerContext, type ControllerInput } from '@talos-ts/cosi';
import {
  ActiveMachineConfigId,
  LinkStatusType,
  MachineConfigType,
  NamespaceName,
  type ConfigLayer,
  type LinkStatusSpec,
  type MachineConfig,
  type MachineConfigSpec,
} from '@talos-ts/machinery';
import { machineConfigOf } from '../config/parse.ts';
import { parseCmdlineNetworking, type CmdlineNetworking } from './cmdline.ts';
import type { SelectableLink } from './devices.ts';

/** Options every per-source config controller takes. */
export interface ConfigSourceOptions {
  /** The kernel command line (metal: /proc/cmdline); empty in container mode. */
  readonly cmdline?: string;
}

/** What a config controller reads on each wake-up. */
export interface ConfigInputs {
  readonly config: MachineConfig | undefined;
  readonly cmdline: CmdlineNetworking | undefined;
  /** The kernel's links, for device selectors. */
  readonly links: readonly SelectableLink[];
}

/** One produced config: its id without the layer prefix, and its spec (which carries the layer). */
export interface LayeredConfig<S extends { readonly layer: ConfigLayer }> {
  readonly id: string;
  readonly spec: S;
}

/** Options of {@link createConfigSourceController}. */
export interface ConfigSourceControllerOptions<S extends { readonly layer: ConfigLayer }> extends ConfigSourceOptions {
  readonly name: string;
  readonly type: string;
  readonly produce: (inputs: ConfigInputs) => readonly LayeredConfig<S>[];
}

const configInput: ControllerInput = { namespace: NamespaceName.config, type: MachineConfigType, id: ActiveMachineConfigId, kind: 'weak' };
const linksInput: ControllerInput = { namespace: NamespaceName.network, type: LinkStatusType, kind: 'weak' };

/**
 * The shape of upstream's `<kind>_config.go`: read the defaults, the kernel command line and the
 * machine config, and write one resource per source into `network-config` with id `<layer>/<id>`.
 * The output type is shared: the merge controller writes the same type into `network`.
 */
export function createConfigSourceController<S extends { readonly layer: ConfigLayer }>(options: ConfigSourceControllerOptions<S>): Controller {
  const { name, type, produce } = options;
  const output = { namespace: NamespaceName.networkConfig, type };
  return {
    name,
    inputs: [configInput, linksInput],
    outputs: [{ type, kind: 'shared' }],
    async run(ctx: ControllerContext) {
      for await (const _ of ctx.changes()) {
        const inputs = readInputs(ctx, options.cmdline ?? '');
        const produced = new Set<string>();
        for (const c of produce(inputs)) {
          const id = `${c.spec.layer}/${c.id}`;
          if (produced.has(id)) continue;
          produced.add(id);
          ctx.modify<S>({ ...output, id }, c.spec, (d) => {
            d.spec = c.spec;
          });
        }
        removeUnproduced(ctx, output, name, produced);
      }
    },
  };
}

function readInputs(ctx: ControllerContext, cmdlineText: string): ConfigInputs {
  const mc = ctx.find<MachineConfigSpec>({ namespace: NamespaceName.config, type: MachineConfigType, id: ActiveMachineConfigId });
  const config = mc ? machineConfigOf(mc) : undefined;
  const statuses = ctx.list<LinkStatusSpec>({ namespace: NamespaceName.network, type: LinkStatusType });
  const links: SelectableLink[] = statuses.map((l) => ({ name: l.metadata.id, hardwareAddr: l.spec.hardwareAddr, physical: l.spec.type === 'ether' && l.spec.kind === '' }));
  let cmdline: CmdlineNetworking | undefined;
  if (cmdlineText.trim() !== '') {
    const names = statuses
      .filter((l) => l.spec.type !== 'loopback' && l.spec.kind === '')
      .map((l) => l.metadata.id)
      .sort();
    const parsed = parseCmdlineNetworking(cmdlineText, names);
    if ('error' in parsed) ctx.logger.warn('ignoring the network settings of the kernel command line', { error: parsed.error });
    else cmdline = parsed.value;
  }
  return { config, cmdline, links };
}
