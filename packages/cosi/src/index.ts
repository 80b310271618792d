export { Code, TalosError, hasCode } from './errors.ts';
export type { TalosErrorOptions } from './errors.ts';
export { createLogger, nullLogger } from './log.ts';
export type { Logger, LogLevel, LogFields, LogRecord, LoggerOptions } from './log.ts';
export { systemClock, sleepUnlessAborted } from './clock.ts';
export type { Clock } from './clock.ts';
export { newResource, withSpec, pointerKey, freezeCopy, plainEqual } from './resource.ts';
export type { Resource, Metadata, Pointer, Kind, Phase, StringMap, NewResourceOptions } from './resource.ts';
export { matchesLabels } from './labels.ts';
export type { LabelQuery, LabelTerm, LabelOp } from './labels.ts';
export { StateError, isNotFound, isAlreadyExists, isConflict } from './state-errors.ts';
export type { ConflictReason } from './state-errors.ts';
export { InMemoryState } from './state.ts';
export type {
  State,
  WriteOptions,
  UpdateOptions,
  IdMatcher,
  QueryOptions,
  WatchOptions,
  Draft,
  ModifyOptions,
  ChangeListener,
  InMemoryStateOptions,
} from './state.ts';
export { Watch, defaultWatchBufferSize } from './watch.ts';
export type { WatchEvent, EventType } from './watch.ts';
export {
  metaNamespace,
  ResourceDefinitionType,
  NamespaceType,
  metaDefinitions,
  allAliases,
  resourceDefinitionSpec,
  registerResourceDefinition,
  registerNamespace,
  bootstrapMeta,
  resolveResourceDefinition,
} from './meta.ts';
export type { ResourceDefinitionInput, ResourceDefinitionSpec, NamespaceSpec, PrintColumn, Sensitivity } from './meta.ts';
export type { Controller, ControllerContext, ControllerInput, ControllerOutput, InputKind } from './controller.ts';
export { Runtime } from './runtime.ts';
export type { RuntimeOptions, BackoffOptions, ControllerStatus } from './runtime.ts';
export { dependencyGraph } from './graph.ts';
export type { GraphOptions } from './graph.ts';
export { createTransformController } from './generic/transform.ts';
export type { TransformOptions, TransformResult } from './generic/transform.ts';
export { createMergeController } from './generic/merge.ts';
export { removeUnproduced } from './generic/cleanup.ts';
export type { MergeOptions } from './generic/merge.ts';
