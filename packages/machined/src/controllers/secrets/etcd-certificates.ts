import { plainEqual, type Controller, type ControllerContext } from '@talos-ts/cosi';
import {
  ActiveMachineConfigId,
  EtcdCertificatesId,
  EtcdCertificatesType,
  HostnameId,
  HostnameStatusType,
  MachineConfigType,
  NamespaceName,
  fqdn,
  type EtcdCertificatesSpec,
  type HostnameStatusSpec,
  type MachineConfigSpec,
} from '@talos-ts/machinery';
import { issueEtcdCertificates } from '../../etcd/pki.ts';
import { machineConfigOf } from '../config/parse.ts';

/** Default lifetime of etcd's certificates; reissued at half-life, and etcd reloads them per handshake. */
export const defaultEtcdCertificateLifetimeMs = 24 * 60 * 60 * 1000;

/** Options of {@link EtcdCertificatesController}. */
export interface EtcdCertificatesOptions {
  /** This node's addresses, put in the server and peer certificates' SANs. */
  readonly addresses: readonly string[];
  /** Certificate lifetime (tests shorten it to watch renewal). */
  readonly lifetimeMs?: number;
}

const pem = (b64: string | undefined): string => (b64 ? Buffer.from(b64, 'base64').toString('utf8') : '');

/**
 * Issues the local etcd member's certificates from the etcd CA in the machine config (present on
 * control-plane nodes only; elsewhere the resource is removed). Reissues when the CA or the SANs
 * change, and at half of the lifetime.
 */
export class EtcdCertificatesController implements Controller {
  readonly name = 'secrets.EtcdCertificatesController';
  readonly inputs = [
    { namespace: NamespaceName.config, type: MachineConfigType, id: ActiveMachineConfigId, kind: 'weak' as const },
    { namespace: NamespaceName.network, type: HostnameStatusType, id: HostnameId, kind: 'weak' as const },
  ];
  readonly outputs = [{ type: EtcdCertificatesType, kind: 'exclusive' as const }];
  readonly #options: EtcdCertificatesOptions;

  constructor(options: EtcdCertificatesOptions) {
    this.#options = options;
  }

  async run(ctx: ControllerContext): Promise<void> {
    const lifetimeMs = this.#options.lifetimeMs ?? defaultEtcdCertificateLifetimeMs;
    const pointer = { namespace: NamespaceName.secrets, type: EtcdCertificatesType, id: EtcdCertificatesId };
    let retryMs = 500;
    for await (const _ of ctx.changes()) {
      const cfgRes = ctx.find<MachineConfigSpec>({ namespace: NamespaceName.config, type: MachineConfigType, id: ActiveMachineConfigId });
      const host = ctx.find<HostnameStatusSpec>({ namespace: NamespaceName.network, type: HostnameStatusType, id: HostnameId });
      if (!cfgRes || !host) continue;
      const cfg = machineConfigOf(cfgRes).config;
      const caPem = pem(cfg.cluster?.etcd?.ca?.crt);
      const caKeyPem = pem(cfg.cluster?.etcd?.ca?.key);
      const current = ctx.find<EtcdCertificatesSpec>(pointer);
      if (caPem === '' || caKeyPem === '') {
        if (current) ctx.destroy(pointer);
        continue;
      }
      const sans = [...new Set([...this.#options.addresses, '127.0.0.1', '::1', 'localhost', host.spec.hostname, fqdn(host.spec)])].filter((s) => s !== '').sort();
      const now = ctx.clock.now();
      if (current && current.spec.ca === caPem && plainEqual(current.spec.sans, sans) && now < current.spec.renewAfter) {
        ctx.requeueAfter(current.spec.renewAfter - now);
        continue;
      }
      try {
        const spec = await issueEtcdCertificates({ caPem, caKeyPem, hostname: host.spec.hostname, sans, nowMs: now, lifetimeMs });
        ctx.modify<EtcdCertificatesSpec>(pointer, spec, (d) => {
          d.spec = spec;
        });
        ctx.logger.info('etcd certificates issued', { sans: sans.join(','), validForMs: lifetimeMs });
        retryMs = 500;
        ctx.requeueAfter(spec.renewAfter - now);
      } catch (err) {
        if (ctx.signal.aborted) return;
        ctx.logger.warn('issuing etcd certificates failed, will retry', { error: err, retryInMs: retryMs });
        ctx.requeueAfter(retryMs);
        retryMs = Math.min(retryMs * 2, 30_000);
      }
    }
  }
}
