export { TAG, currentVersion } from './version.ts';
export type { VersionInfo } from './version.ts';
export * from './resources/index.ts';
export * from './role/index.ts';
export * from './secrets/index.ts';
export * from './client/index.ts';
export * from './config/index.ts';
export { createServiceDefinition, createServiceHandlers, methodPath } from './grpc/service.ts';
export type { AuthContext, CallContext, MethodHandler, ServiceImplementation } from './grpc/service.ts';
export { createGrpcClient } from './grpc/client.ts';
export type { CallOpts, ClientMethod, GrpcClient, GrpcClientOptions } from './grpc/client.ts';
export { fromGrpcError, toGrpcStatus } from './grpc/status.ts';
/** Generated messages and service of the discovery service API (sidero.discovery.server). */
export * as discoveryServerPb from './gen/discovery/server/cluster_pb.ts';
/** Generated plaintext affiliate messages the discovery clients seal (sidero.discovery.client). */
export * as discoveryClientPb from './gen/discovery/client/affiliate_pb.ts';
export { ReloadableServerCredentials, readFiles, tlsChannel, watchFiles } from './grpc/tls.ts';
export type { FileContents, ReloadableServerCredentialsOptions, TlsChannel, TlsMaterial, WatchFilesOptions } from './grpc/tls.ts';
/** Generated messages and service of the machine API (machine.MachineService). */
export * as machinePb from './gen/machine/machine_pb.ts';
/** Generated common messages (common.Metadata, common.Data, ...). */
export * as commonPb from './gen/common/common_pb.ts';
/** Generated COSI state service (cosi.resource.State). */
export * as cosiStatePb from './gen/cosi/v1alpha1/state_pb.ts';
/** Generated COSI resource messages. */
export * as cosiResourcePb from './gen/cosi/v1alpha1/resource_pb.ts';
/** Generated inspect service (inspect.InspectService). */
export * as inspectPb from './gen/inspect/inspect_pb.ts';
/** Generated time service (time.TimeService). */
export * as timePb from './gen/time/time_pb.ts';
/** Generated trustd service (securityapi.SecurityService). */
export * as securityPb from './gen/security/security_pb.ts';
