import type { Controller, ControllerContext } from '@talos-ts/cosi';
import {
  EtcdCertificatesId,
  EtcdCertificatesType,
  NamespaceName,
  type EtcdCertificatesSpec,
} from '@talos-ts/machinery';
import { issueEtcdCertificates } from '../../etcd/pki.ts';
import { certificateInputs, nodeSans, pemOf, runCertificateRenewal } from './renewal.ts';

/** Default lifetime of etcd's certificates; reissued at half-life, and etcd reloads them per handshake. */
export const defaultEtcdCertificateLifetimeMs = 24 * 60 * 60 * 1000;

/** Options of {@link EtcdCertificatesController}. */
export interface EtcdCertificatesOptions {
  /** This node's addresses, put in the server and peer certificates' SANs. */
  readonly addresses: readonly string[];
  /** Certificate lifetime (tests shorten it to watch renewal). */
  readonly lifetimeMs?: number;
}

/**
 * Issues the local etcd member's certificates from the etcd CA in the machine config (present on
 * control-plane nodes only; elsewhere the resource is removed). Reissues when the CA or the SANs
 * change, and at half of the lifetime.
 */
export class EtcdCertificatesController implements Controller {
  readonly name = 'secrets.EtcdCertificatesController';
  readonly inputs = certificateInputs;
  readonly outputs = [{ type: EtcdCertificatesType, kind: 'exclusive' as const }];
  readonly #options: EtcdCertificatesOptions;

  constructor(options: EtcdCertificatesOptions) {
    this.#options = options;
  }

  async run(ctx: ControllerContext): Promise<void> {
    const lifetimeMs = this.#options.lifetimeMs ?? defaultEtcdCertificateLifetimeMs;
    await runCertificateRenewal<EtcdCertificatesSpec>(ctx, {
      pointer: { namespace: NamespaceName.secrets, type: EtcdCertificatesType, id: EtcdCertificatesId },
      what: 'etcd certificates',
      wish: (cfg, host, found) => {
        const caPem = pemOf(cfg.cluster?.etcd?.ca?.crt);
        // Only control planes carry the etcd CA key; elsewhere there are no etcd certificates.
        if (caPem === '' || pemOf(cfg.cluster?.etcd?.ca?.key) === '') return undefined;
        return { caPem, sans: nodeSans([...this.#options.addresses, ...found], host) };
      },
      issue: (wish, { config, hostname, nowMs }) =>
        issueEtcdCertificates({ caPem: wish.caPem, caKeyPem: pemOf(config.cluster?.etcd?.ca?.key), hostname: hostname.hostname, sans: wish.sans, nowMs, lifetimeMs }),
    });
  }
}
