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
