import type { Controller, ControllerContext } from '@talos-ts/cosi';
import { HostnameId, HostnameSpecType, HostnameStatusType, NamespaceName, fqdn, type HostnameSpecSpec, type HostnameStatusSpec } from '@talos-ts/machinery';

/** Options of {@link HostnameSpecController}. */
export interface HostnameSpecControllerOptions {
  /** Sets the kernel hostname (metal); absent in container mode, where the host's is left alone. */
  readonly setKernelHostname?: (name: string) => void;
}

/** network.HostnameSpecController: applies the merged HostnameSpec (kernel hostname on metal) and reports HostnameStatus. */
export class HostnameSpecController implements Controller {
  readonly name = 'network.HostnameSpecController';
  readonly inputs = [{ namespace: NamespaceName.network, type: HostnameSpecType, id: HostnameId, kind: 'weak' as const }];
  readonly outputs = [{ type: HostnameStatusType, kind: 'exclusive' as const }];
  readonly #options: HostnameSpecControllerOptions;

  constructor(options: HostnameSpecControllerOptions = {}) {
    this.#options = options;
  }

  async run(ctx: ControllerContext): Promise<void> {
    let applied: string | undefined;
    for await (const _ of ctx.changes()) {
      const spec = ctx.find<HostnameSpecSpec>({ namespace: NamespaceName.network, type: HostnameSpecType, id: HostnameId });
      if (!spec || spec.metadata.phase !== 'running') continue;
      const status: HostnameStatusSpec = { hostname: spec.spec.hostname, domainname: spec.spec.domainname };
      const name = fqdn(status);
      if (this.#options.setKernelHostname && applied !== name) {
        // The kernel's nodename is the short name; the domain goes to /etc/hosts.
        this.#options.setKernelHostname(status.hostname);
        applied = name;
        ctx.logger.info('hostname set', { hostname: name });
      }
      ctx.modify<HostnameStatusSpec>({ namespace: NamespaceName.network, type: HostnameStatusType, id: HostnameId }, status, (d) => {
        d.spec = status;
      });
    }
  }
}
