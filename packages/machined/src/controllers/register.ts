import { dirname } from 'node:path';
import type { Runtime } from '@talos-ts/cosi';
import type { NodePaths } from '@talos-ts/machinery';
import { AffiliateMergeController } from './cluster/affiliate-merge.ts';
import { createDiscoveryConfigController } from './cluster/config.ts';
import { DiscoveryServiceController } from './cluster/discovery-service.ts';
import { LocalAffiliateController } from './cluster/local-affiliate.ts';
import { createMemberController } from './cluster/member.ts';
import { NodeIdentityController } from './cluster/node-identity.ts';
import { createMachineTypeController } from './config/machine-type.ts';
import { createEtcdConfigController } from './etcd/config.ts';
import { EtcdSpecController } from './etcd/spec.ts';
import { NodeAddressFilterController } from './k8s/address-filter.ts';
import { createNodenameController } from './k8s/nodename.ts';
import { kernelFirewall, kubespanControllers, type KubeSpanLink } from './kubespan/index.ts';
import { networkControllers, type NetworkControllersOptions } from './network/index.ts';
import { MountStatusController } from './runtime/mount-status.ts';
import { VolumeStatusController } from './block/volume-status.ts';
import { ApiCertificatesController } from './secrets/api-certificates.ts';
import { CertificateFilesController } from './secrets/certificate-files.ts';
import { EtcdCertificatesController } from './secrets/etcd-certificates.ts';
import { SyncController } from './time/sync.ts';
import { kernelClock } from '../linux/clock.ts';
import { ntpExchange } from '../linux/ntp-exchange.ts';

/** What the controllers of a node are configured with. */
export interface ControllerOptions {
  readonly platform: 'container' | 'metal';
  readonly address: string;
  readonly paths: NodePaths;
  readonly defaultHostname?: string;
  readonly apiCertLifetimeMs?: number;
  readonly etcdCertLifetimeMs?: number;
  readonly discoveryTtlMs?: number;
  /** What the network controllers observe and may change on this host (see linux/network-host.ts). */
  readonly network: NetworkControllersOptions;
  /**
   * KubeSpan's WireGuard link, given only where machined owns the network (metal, a node in its own
   * namespace); without it the KubeSpan manager (link, nftables, rules) does not run.
   */
  readonly kubespan?: { readonly link: KubeSpanLink; readonly netnsPath?: string };
}

/**
 * Registers every controller machined runs, in one place: adding a controller to the node is adding
 * a line here.
 */
export function registerControllers(runtime: Runtime, o: ControllerOptions): void {
  runtime.register(
    ...networkControllers(o.network),
    createMachineTypeController(),
    createNodenameController(),
    new NodeAddressFilterController(),
    createEtcdConfigController(),
    // Where the network is the host's (container mode), the given address is the node's only own one.
    new EtcdSpecController(o.network.ownsNetwork ? {} : { pinnedAddress: o.address }),
    new ApiCertificatesController({ addresses: [o.address], ...(o.apiCertLifetimeMs ? { lifetimeMs: o.apiCertLifetimeMs } : {}) }),
    new EtcdCertificatesController({ addresses: [o.address], ...(o.etcdCertLifetimeMs ? { lifetimeMs: o.etcdCertLifetimeMs } : {}) }),
    new CertificateFilesController({ apiCertsDir: o.paths.apiCertsDir, trustdCertsDir: o.paths.trustdCertsDir, etcdCertsDir: o.paths.etcdCertsDir }),
    new NodeIdentityController({ path: o.paths.nodeIdentity }),
    createDiscoveryConfigController(),
    new LocalAffiliateController({ addresses: () => [o.address] }),
    new DiscoveryServiceController(o.discoveryTtlMs !== undefined ? { ttlMs: o.discoveryTtlMs } : {}),
    new AffiliateMergeController(),
    createMemberController(),
  );
  const ks = o.kubespan;
  runtime.register(
    ...kubespanControllers({
      stateDir: dirname(o.paths.nodeIdentity),
      ...(ks ? { link: ks.link, firewall: kernelFirewall(ks.netnsPath ? { netnsPath: ks.netnsPath } : {}) } : {}),
    }),
  );
  // A container node's mount table is its host's; only a real machine publishes its own.
  if (o.platform === 'metal') runtime.register(new MountStatusController(), new VolumeStatusController());
  // timed: the kernel clock on metal; in container mode the host keeps the clock (sync disabled).
  runtime.register(new SyncController({ containerMode: o.platform !== 'metal', adjuster: kernelClock(), exchange: ntpExchange }));
}
