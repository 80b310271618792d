export { TAG, currentVersion } from './version.ts';
export type { VersionInfo } from './version.ts';
export * from './resources/index.ts';
export * from './role/index.ts';
export * from './secrets/index.ts';
export * from './client/index.ts';
export { CertFiles, MACHINED_SOCKET_PATH, STATE_LOCK_FILE, TALOS_API_PORT, TRUSTD_PORT, TRUSTED_IMAGE_KEY_PATH, nodePaths } from './contract/index.ts';
export type { NodePaths } from './contract/index.ts';
export * from './config/index.ts';
export * from './discovery/index.ts';
export { decodeMessage, encodeMessage, methodPath, registerService } from './grpc/service.ts';
export type { CallContext, MethodHandler, ServiceImplementation } from './grpc/service.ts';
export { clientOn, createGrpcClient } from './grpc/client.ts';
export type { CallOpts, ClientMethod, GrpcClient, GrpcClientOptions } from './grpc/client.ts';
/** Generated messages and service of the discovery service API (sidero.discovery.server). */
export * as discoveryServerPb from './gen/discovery/server/cluster_pb.ts';
/** Generated plaintext affiliate messages the discovery clients seal (sidero.discovery.client). */
export * as discoveryClientPb from './gen/discovery/client/affiliate_pb.ts';
/** Generated machine.MachineService messages and service. */
export * as machinePb from './gen/machine/machine_pb.ts';
/** Generated common messages (Metadata, Error, Data, Empty). */
export * as commonPb from './gen/common/common_pb.ts';
/** Generated cosi.resource.State service and resource messages. */
export * as cosiStatePb from './gen/cosi/v1alpha1/state_pb.ts';
export * as cosiResourcePb from './gen/cosi/v1alpha1/resource_pb.ts';
export * as cosiMetaPb from './gen/cosi/v1alpha1/meta_pb.ts';
/** Generated inspect.InspectService. */
export * as inspectPb from './gen/inspect/inspect_pb.ts';
/** Generated securityapi.SecurityService (trustd). */
export * as securityPb from './gen/security/security_pb.ts';
/** Generated etcd v3 API subset (etcdserverpb: KV, Cluster, Maintenance). */
export * as etcdPb from './gen/etcd/etcdserverpb/rpc_pb.ts';
/** Generated time.TimeService. */
export * as timePb from './gen/time/time_pb.ts';
/** Generated subset of containerd's API: the containers and tasks services (containerd.services.*.v1). */
export * as containerdContainersPb from './gen/containerd/services/containers/v1/containers_pb.ts';
export * as containerdTasksPb from './gen/containerd/services/tasks/v1/tasks_pb.ts';
/** Generated subset of containerd's content, images and leases services (what an image pull uses). */
export * as containerdContentPb from './gen/containerd/services/content/v1/content_pb.ts';
export * as containerdImagesPb from './gen/containerd/services/images/v1/images_pb.ts';
export * as containerdLeasesPb from './gen/containerd/services/leases/v1/leases_pb.ts';
/** Generated containerd types: task process state, mounts, metrics. */
export * as containerdTaskTypesPb from './gen/containerd/types/task/task_pb.ts';
export * as containerdMountPb from './gen/containerd/types/mount_pb.ts';
export * as containerdMetricsPb from './gen/containerd/types/metrics_pb.ts';
/** Generated subset of containerd's cgroup v1 and v2 task metrics (what `stats` reads). */
export * as cgroupsV1Pb from './gen/containerd/cgroups/v1/metrics_pb.ts';
export * as cgroupsV2Pb from './gen/containerd/cgroups/v2/metrics_pb.ts';
export { readFiles, watchFiles } from './grpc/files.ts';
export type { FileContents, WatchFilesOptions } from './grpc/files.ts';
export { createH2Server } from './grpc/h2/server.ts';
export type { H2Server, H2ServerOptions, H2ServerTls, ServerCall, ServerHandler } from './grpc/h2/server.ts';
export { NodeChannelBounds, createH2Channel, statusError } from './grpc/h2/channel.ts';
export type { CallStatus, ClientCall, ClientCallHandlers, H2CallOptions, H2Channel, H2ChannelOptions, H2ChannelTls } from './grpc/h2/channel.ts';
export {
  DEFAULT_MAX_MESSAGE_BYTES,
  STATUS_OK,
  decodeGrpcMessage,
  encodeGrpcMessage,
  encodeTimeout,
  metadataOf,
  metadataStrings,
  parseTimeout,
} from './grpc/h2/wire.ts';
export type { GrpcMetadata, MetadataValue, MethodKind } from './grpc/h2/wire.ts';
export { serveUntilSignal, terminationSignal } from './daemon/serve-until-signal.ts';
export type { DaemonServer } from './daemon/serve-until-signal.ts';
export * from './disk/index.ts';
export * from './meta/index.ts';
/** OCI images: references, the distribution API (pull and push), image layouts, layer extraction. */
export * from './oci/index.ts';
