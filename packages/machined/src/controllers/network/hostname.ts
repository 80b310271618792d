import type { Controller, ControllerContext } from '@talos-ts/cosi';
import {
  ActiveMachineConfigId,
  HostnameId,
  HostnameStatusType,
  MachineConfigType,
  NamespaceName,
  type HostnameStatusSpec,
  type MachineConfigSpec,
} from '@talos-ts/machinery';
import { machineConfigOf } from '../config/parse.ts';

/** Options of {@link HostnameController}. */
export interface HostnameControllerOptions {
  /** The platform's hostname when the config names none (upstream: talos-xxx-yyy). */
  readonly defaultHostname: string;
}

/**
 * The node's hostname: the config's machine.network.hostname when set, else the platform default.
 * It exists before any config arrives (maintenance mode shows it too).
 */
export class HostnameController implements Controller {
  readonly name = 'network.HostnameController';
  readonly inputs = [{ namespace: NamespaceName.config, type: MachineConfigType, id: ActiveMachineConfigId, kind: 'weak' as const }];
  readonly outputs = [{ type: HostnameStatusType, kind: 'exclusive' as const }];
  readonly #options: HostnameControllerOptions;

  constructor(options: HostnameControllerOptions) {
    this.#options = options;
  }

  async run(ctx: ControllerContext): Promise<void> {
    for await (const _ of ctx.changes()) {
      const cfg = ctx.find<MachineConfigSpec>({ namespace: NamespaceName.config, type: MachineConfigType, id: ActiveMachineConfigId });
      const configured = cfg ? machineConfigOf(cfg).config.machine?.network?.hostname : undefined;
      const full = configured && configured !== '' ? configured : this.#options.defaultHostname;
      const [hostname = full, ...domain] = full.split('.');
      const spec: HostnameStatusSpec = { hostname, domainname: domain.join('.') };
      ctx.modify<HostnameStatusSpec>({ namespace: NamespaceName.network, type: HostnameStatusType, id: HostnameId }, spec, (d) => {
        d.spec = spec;
      });
    }
  }
}
