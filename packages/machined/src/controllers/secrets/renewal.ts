import { plainEqual, type ControllerContext, type Pointer } from '@talos-ts/cosi';
import {
  ActiveMachineConfigId,
  HostnameId,
  HostnameStatusType,
  MachineConfigType,
  NamespaceName,
  NodeAddressId,
  NodeAddressType,
  fqdn,
  nodeIps,
  type HostnameStatusSpec,
  type MachineConfigSpec,
  type NodeAddressSpec,
} from '@talos-ts/machinery';
import { machineConfigOf } from '../config/parse.ts';

/**
 * The inputs every certificate controller reads: the active config, the hostname, and every
 * address the node has had since boot (NodeAddress `accumulative`: a certificate keeps naming an
 * address clients may still use after it moved).
 */
export const certificateInputs = [
  { namespace: NamespaceName.config, type: MachineConfigType, id: ActiveMachineConfigId, kind: 'weak' as const },
  { namespace: NamespaceName.network, type: HostnameStatusType, id: HostnameId, kind: 'weak' as const },
  { namespace: NamespaceName.network, type: NodeAddressType, id: NodeAddressId.accumulative, kind: 'weak' as const },
];

/** What an issued certificate set records so the loop knows when to reissue it. */
export interface RenewableSpec {
  readonly ca: string;
  readonly sans: readonly string[];
  readonly renewAfter: number;
}

/** What the config asks for now; undefined means no certificates belong on this node. */
export interface CertificateWish {
  readonly caPem: string;
  readonly sans: readonly string[];
}

/** Options of {@link runCertificateRenewal}. */
export interface RenewalOptions<S extends RenewableSpec> {
  readonly pointer: Pointer;
  /** Used in log lines ("API certificates issued"). */
  readonly what: string;
  /** `nodeAddresses`: the IPs of NodeAddress `accumulative` (empty until the network is observed). */
  readonly wish: (config: ReturnType<typeof machineConfigOf>['config'], hostname: HostnameStatusSpec, nodeAddresses: readonly string[]) => CertificateWish | undefined;
  readonly issue: (wish: CertificateWish, args: { config: ReturnType<typeof machineConfigOf>['config']; hostname: HostnameStatusSpec; nowMs: number; signal: AbortSignal }) => Promise<S>;
}

/** The base64 PEM of a config field as text ('' when absent). */
export const pemOf = (b64: string | undefined): string => (b64 ? Buffer.from(b64, 'base64').toString('utf8') : '');

/** SANs every node certificate carries: node addresses, loopback, hostname, plus any extra. */
export function nodeSans(addresses: readonly string[], hostname: HostnameStatusSpec, extra: readonly string[] = []): string[] {
  return [...new Set([...addresses, '127.0.0.1', '::1', 'localhost', hostname.hostname, fqdn(hostname), ...extra])].filter((s) => s !== '').sort();
}

/**
 * The loop shared by certificate controllers: on every change (and at renewal time) compare what
 * the config asks for with what was issued; reissue when the CA or SANs changed or half the
 * lifetime passed; remove the certificates when the node should have none; retry failures with a
 * capped backoff instead of restarting the controller.
 */
export async function runCertificateRenewal<S extends RenewableSpec>(ctx: ControllerContext, options: RenewalOptions<S>): Promise<void> {
  let retryMs = 500;
  for await (const _ of ctx.changes()) {
    const cfgRes = ctx.find<MachineConfigSpec>({ namespace: NamespaceName.config, type: MachineConfigType, id: ActiveMachineConfigId });
    const host = ctx.find<HostnameStatusSpec>({ namespace: NamespaceName.network, type: HostnameStatusType, id: HostnameId });
    if (!cfgRes || !host) continue;
    const config = machineConfigOf(cfgRes).config;
    const current = ctx.find<S>(options.pointer);
    const addrs = ctx.find<NodeAddressSpec>({ namespace: NamespaceName.network, type: NodeAddressType, id: NodeAddressId.accumulative });
    const wish = options.wish(config, host.spec, addrs ? nodeIps(addrs.spec) : []);
    if (!wish) {
      if (current) ctx.destroy(options.pointer);
      continue;
    }
    const now = ctx.clock.now();
    if (current && current.spec.ca === wish.caPem && plainEqual(current.spec.sans, wish.sans) && now < current.spec.renewAfter) {
      ctx.requeueAfter(current.spec.renewAfter - now);
      continue;
    }
    try {
      const spec = await options.issue(wish, { config, hostname: host.spec, nowMs: now, signal: ctx.signal });
      ctx.modify<S>(options.pointer, spec, (d) => {
        d.spec = spec;
      });
      ctx.logger.info(`${options.what} issued`, { sans: wish.sans.join(','), renewInMs: spec.renewAfter - now });
      retryMs = 500;
      ctx.requeueAfter(spec.renewAfter - now);
    } catch (err) {
      if (ctx.signal.aborted) return;
      ctx.logger.warn(`issuing ${options.what} failed, will retry`, { error: err, retryInMs: retryMs });
      ctx.requeueAfter(retryMs);
      retryMs = Math.min(retryMs * 2, 30_000);
    }
  }
}
