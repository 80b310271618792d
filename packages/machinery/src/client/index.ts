export {
  contextCredentials,
  loadTalosconfig,
  mergeTalosconfig,
  newTalosconfig,
  parseTalosconfig,
  resolveTalosconfigPath,
  saveTalosconfig,
  serializeTalosconfig,
} from './talosconfig.ts';
export type {
  ContextRename,
  Talosconfig,
  TalosconfigContext,
  TalosconfigError,
  TalosconfigLocation,
} from './talosconfig.ts';
export { requestCertificate } from './trustd.ts';
export { TRUSTD_TOKEN_METADATA } from './trustd-api.ts';
export type { RequestCertificateOptions, SignedCertificate } from './trustd.ts';
export { createTalosClient, normalizeEndpoint, talosClientOptionsFromContext } from './api-client.ts';
export type { NodeTargeting, TalosClient, TalosClientOptions, TalosMethod, TalosService } from './api-client.ts';
export {
  META_NAMESPACE,
  NAMESPACE_TYPE,
  RESOURCE_DEFINITION_TYPE,
  decodeResourceDefinition,
  findResourceDefinition,
  listResourceDefinitions,
  resolveResourceType,
  resourceSpec,
  resourceView,
} from './resources.ts';
export type { ResourceDefinitionInfo, ResourceMetadataView, ResourceView } from './resources.ts';
export { issueTestPki, startTestApiServer, testService } from './test-server.ts';
export type { TestApiServer, TestApiServerOptions, TestPki, TestServiceBinding } from './test-server.ts';
