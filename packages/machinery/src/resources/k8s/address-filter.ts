/** Id of the NodeAddressFilter that leaves out the pod and service networks (upstream's). */
export const NodeAddressFilterNoK8s = 'no-k8s';

/** Id of the NodeAddressFilter that keeps only the pod and service networks (upstream's). */
export const NodeAddressFilterOnlyK8s = 'only-k8s';
