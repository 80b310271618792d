export { NamespaceName, talosNamespaces } from './namespaces.ts';
export { ServiceType, newService, serviceDefinition } from './v1alpha1/service.ts';
export type { ServiceSpec } from './v1alpha1/service.ts';
