import { newResource, type Resource, type ResourceDefinitionInput } from '@talos-ts/cosi';
import { NamespaceName } from '../namespaces.ts';
import type { ConfigLayer } from './layer.ts';

/** Type of the desired hostname. */
export const HostnameSpecType = 'HostnameSpecs.net.talos.dev';

/** Spec of HostnameSpec. */
export interface HostnameSpecSpec {
  readonly hostname: string;
  readonly domainname: string;
  readonly layer: ConfigLayer;
}

/** A HostnameSpec in the given namespace (id `hostname` in `network`, `<layer>/hostname` in `network-config`). */
export function newHostnameSpec(namespace: string, id: string, spec: HostnameSpecSpec): Resource<HostnameSpecSpec> {
  return newResource({ namespace, type: HostnameSpecType }, id, spec);
}

/** Splits `host.example.org` into hostname and domain name. */
export function splitFqdn(full: string): { hostname: string; domainname: string } {
  const [hostname = full, ...domain] = full.split('.');
  return { hostname, domainname: domain.join('.') };
}

/** Definition: `talosctl get hostnamespecs`. */
export const hostnameSpecDefinition: ResourceDefinitionInput = {
  type: HostnameSpecType,
  displayType: 'HostnameSpec',
  aliases: [],
  defaultNamespace: NamespaceName.network,
};
