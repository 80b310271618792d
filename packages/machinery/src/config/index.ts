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
export { decodeConfigText, checkConfigText } from './text.ts';
export type { TextResult } from './text.ts';
export { validateConfig, formatIssue, VALIDATION_MODES } from './validate.ts';
export type { ValidationMode, ConfigIssue, ValidateOptions, ValidationResult } from './validate.ts';
export { parsePatch, resolvePatch, applyPatches } from './patch.ts';
export type { ConfigPatch, PatchParseResult, PatchSourceOptions } from './patch.ts';
export { mergeValue, MergeError, PATCH_DIRECTIVE } from './patch-merge.ts';
export { applyJsonPatch, parseJsonPatch, parsePointer, JsonPatchError } from './patch-json.ts';
export type { JsonPatchOperation } from './patch-json.ts';
export {
  generateMachineConfigs,
  DEFAULT_KUBERNETES_VERSION,
  DEFAULT_INSTALL_DISK,
  DEFAULT_INSTALLER_IMAGE,
  DEFAULT_DNS_DOMAIN,
  DEFAULT_POD_SUBNETS,
  DEFAULT_SERVICE_SUBNETS,
  DEFAULT_KUBEPRISM_PORT,
  DEFAULT_DISCOVERY_SERVICE_ENDPOINT,
  KUBERNETES_IMAGES,
} from './generate.ts';
export type { ConfigSecrets, SecretCertAndKey, GenerateInput, GeneratedConfigs } from './generate.ts';
export { configJsonSchema, configJsonSchemaText, CONFIG_SCHEMA_ID } from './json-schema.ts';
