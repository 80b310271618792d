import { createTransformController, type Controller } from '@talos-ts/cosi';
import { NamespaceName, TimeServerSpecType, TimeServerStatusType, type TimeServerSpecSpec, type TimeServerStatusSpec } from '@talos-ts/machinery';

/** network.TimeServerSpecController: the merged NTP servers become the TimeServerStatus timed follows. */
export function createTimeServerSpecController(): Controller {
  return createTransformController<TimeServerSpecSpec, TimeServerStatusSpec>({
    name: 'network.TimeServerSpecController',
    input: { namespace: NamespaceName.network, type: TimeServerSpecType },
    output: { namespace: NamespaceName.network, type: TimeServerStatusType },
    transform: (r) => ({ spec: { timeServers: r.spec.timeServers, useNTS: r.spec.useNTS ?? false } }),
  });
}
