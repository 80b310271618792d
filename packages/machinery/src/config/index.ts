// Public surface of the machine config: model, load/save, validate, patch, generate, JSON Schema.
export { ConfigLoadError, renderProblem } from './errors.ts';
export type { ConfigLocation } from './errors.ts';
export { loadConfig, configFromObjects, MAX_CONFIG_SIZE_BYTES } from './load.ts';
export type { LoadResult, LoadOptions, FromObjectsOptions } from './load.ts';
export { MachineConfig, YAML_OUTPUT_OPTIONS } from './machine-config.ts';
export { v1alpha1Descriptor } from './v1alpha1.ts';
export type {
  V1Alpha1Config,
  MachineSection,
  ClusterSection,
  NetworkConfig,
  NetworkDevice,
  NetworkDeviceSelector,
  NetworkVlan,
  NetworkRoute,
  NetworkBond,
  InstallConfig,
  KubeletConfig,
  FeaturesConfig,
  CertAndKey,
} from './v1alpha1.ts';
export { documentKinds, findDocumentKind } from './documents.ts';
export type { DocumentKind, ExtraDocument, KmsgLogConfig } from './documents.ts';
export type { Node as ConfigDescriptorNode, Field as ConfigDescriptorField, Format as ConfigFormat, Infer as InferConfigType } from './schema.ts';
export { checkFormat, parseCIDR, isDuration, isToken } from './formats.ts';
export { WALK_LIMITS } from './walk.ts';
