import { createTransformController, type Controller } from '@talos-ts/cosi';
import {
  ActiveMachineConfigId,
  DEFAULT_DISCOVERY_SERVICE_ENDPOINT,
  DiscoveryConfigId,
  DiscoveryConfigType,
  MachineConfigType,
  NamespaceName,
  type DiscoveryConfigSpec,
  type MachineConfigSpec,
} from '@talos-ts/machinery';
import { machineConfigOf } from '../config/parse.ts';

/** `host:port` and plaintext-or-TLS from a discovery service URL; undefined when it does not parse. */
export function serviceEndpointOf(url: string): { endpoint: string; insecure: boolean } | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  const insecure = u.protocol === 'http:';
  // Anything but http:// is TLS, on 443 unless the URL names a port.
  const port = u.port !== '' ? u.port : insecure ? '80' : '443';
  return { endpoint: `${u.hostname}:${port}`, insecure };
}

/** Discovery settings from the machine config: cluster.discovery, the service endpoint, cluster id/secret. */
export function createDiscoveryConfigController(): Controller {
  return createTransformController<MachineConfigSpec, DiscoveryConfigSpec>({
    name: 'cluster.ConfigController',
    input: { namespace: NamespaceName.config, type: MachineConfigType },
    output: { namespace: NamespaceName.config, type: DiscoveryConfigType },
    transform: (r) => {
      if (r.metadata.id !== ActiveMachineConfigId) return undefined;
      const cluster = machineConfigOf(r).config.cluster;
      if (!cluster) return undefined;
      const discovery = cluster.discovery;
      const enabled = discovery?.enabled === true;
      const service = discovery?.registries?.service;
      const serviceOn = enabled && service?.disabled !== true;
      const parsed = serviceOn ? serviceEndpointOf(service?.endpoint ?? DEFAULT_DISCOVERY_SERVICE_ENDPOINT) : undefined;
      const spec: DiscoveryConfigSpec = {
        discoveryEnabled: enabled,
        registryKubernetesEnabled: enabled && discovery?.registries?.kubernetes?.disabled !== true,
        registryServiceEnabled: parsed !== undefined,
        serviceEndpoint: parsed?.endpoint ?? '',
        serviceEndpointInsecure: parsed?.insecure ?? false,
        serviceEncryptionKey: parsed ? (cluster.secret ?? '') : '',
        serviceClusterID: parsed ? (cluster.id ?? '') : '',
      };
      return { id: DiscoveryConfigId, spec };
    },
  });
}
