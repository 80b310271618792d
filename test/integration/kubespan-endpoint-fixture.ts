// Run inside a qemu cluster's namespace (the discovery service listens only there) by
// vm-kubespan.test.ts: removes an affiliate from the cluster's discovery service, then gives it one
// endpoint ahead of the ones the node will publish again, so that endpoint is first in its peers' list.
// Usage: tsx kubespan-endpoint-fixture.ts SERVICE CLUSTER_ID CLUSTER_SECRET AFFILIATE_ID IP PORT
import { create, toBinary } from '@bufbuild/protobuf';
import { clusterKey, createGrpcClient, discoveryClientPb, discoveryServerPb, ipToBytes, sealEndpoint } from '@talos-ts/machinery';

const [service = '', clusterId = '', secret = '', affiliateId = '', ip = '', port = ''] = process.argv.slice(2);
const grpc = createGrpcClient(discoveryServerPb.Cluster, service, { plaintext: true });
try {
  await grpc.affiliateDelete({ clusterId, affiliateId }, { timeoutMs: 10_000 });
  const endpoint = sealEndpoint(clusterKey(secret), toBinary(discoveryClientPb.EndpointSchema, create(discoveryClientPb.EndpointSchema, { ip: ipToBytes(ip), port: Number(port) })));
  await grpc.affiliateUpdate({ clusterId, affiliateId, affiliateEndpoints: [endpoint], ttl: { seconds: 1800n, nanos: 0 } }, { timeoutMs: 10_000 });
} finally {
  grpc.close();
}
