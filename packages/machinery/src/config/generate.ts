// Generation of the controlplane and worker configs that `talosctl gen config` writes. Field set,
// order and defaults follow upstream's generator for the single-document v1alpha1 layout; every
// emitted field gets its comment from the descriptor table.
import { Code, TalosError } from '@talos-ts/cosi';
import { TAG } from '../version.ts';
import { MachineConfig, attachSource, commentedDocument } from './machine-config.ts';
import { v1alpha1Descriptor, type V1Alpha1Config } from './v1alpha1.ts';

/** Kubernetes version used when the caller names none; bump together with the image tags below. */
export const DEFAULT_KUBERNETES_VERSION = '1.31.2';
/** Disk installed to when none is given. */
export const DEFAULT_INSTALL_DISK = '/dev/sda';
/** Installer image of this release. */
export const DEFAULT_INSTALLER_IMAGE = `ghcr.io/talos-ts/installer:${TAG}`;
/** Cluster DNS domain default. */
export const DEFAULT_DNS_DOMAIN = 'cluster.local';
/** Pod network default. */
export const DEFAULT_POD_SUBNETS: readonly string[] = ['10.244.0.0/16'];
/** Service network default. */
export const DEFAULT_SERVICE_SUBNETS: readonly string[] = ['10.96.0.0/12'];
/** Port of the in-node API server load balancer (KubePrism). */
export const DEFAULT_KUBEPRISM_PORT = 7445;
/** Upstream's public discovery service, used when cluster.discovery.registries.service.endpoint is unset. */
export const DEFAULT_DISCOVERY_SERVICE_ENDPOINT = 'https://discovery.talos.dev/';

/** Image repositories of the Kubernetes components. */
export const KUBERNETES_IMAGES = {
  kubelet: 'ghcr.io/siderolabs/kubelet',
  apiServer: 'registry.k8s.io/kube-apiserver',
  controllerManager: 'registry.k8s.io/kube-controller-manager',
  scheduler: 'registry.k8s.io/kube-scheduler',
  proxy: 'registry.k8s.io/kube-proxy',
} as const;

/** A base64 PEM certificate with its key, as secrets.yaml stores them. */
export interface SecretCertAndKey {
  readonly crt: string;
  readonly key: string;
}

/** The secrets a config is generated from; every string exactly as upstream's secrets.yaml holds it. */
export interface ConfigSecrets {
  readonly clusterId: string;
  readonly clusterSecret: string;
  /** Kubernetes bootstrap token, `[a-z0-9]{6}.[a-z0-9]{16}`. */
  readonly bootstrapToken: string;
  readonly secretboxEncryptionSecret: string;
  /** Token machines present to trustd, same shape as the bootstrap token. */
  readonly trustdToken: string;
  readonly os: SecretCertAndKey;
  readonly etcd: SecretCertAndKey;
  readonly k8s: SecretCertAndKey;
  readonly k8sAggregator: SecretCertAndKey;
  readonly k8sServiceAccount: { readonly key: string };
}

/** What {@link generateMachineConfigs} needs. */
export interface GenerateInput {
  readonly clusterName: string;
  /** Kubernetes API URL, e.g. https://10.5.0.2:6443. */
  readonly endpoint: string;
  readonly kubernetesVersion?: string;
  readonly installDisk?: string;
  readonly installImage?: string;
  /** Extra SANs for the Talos API and Kubernetes API certificates. */
  readonly additionalSans?: readonly string[];
  readonly dnsDomain?: string;
  readonly podSubnets?: readonly string[];
  readonly serviceSubnets?: readonly string[];
  /** cluster.discovery.enabled (upstream's --with-cluster-discovery, default true). */
  readonly withClusterDiscovery?: boolean;
  /** Discovery service endpoint; upstream's public service when unset. */
  readonly discoveryEndpoint?: string;
  /** machine.network.kubespan.enabled (upstream's --with-kubespan); KubeSpan also needs discovery on. */
  readonly withKubeSpan?: boolean;
  readonly secrets: ConfigSecrets;
}

/** The pair of configs `gen config` writes. */
export interface GeneratedConfigs {
  readonly controlplane: MachineConfig;
  readonly worker: MachineConfig;
}

function defaultAdmissionControl(): { name: string; configuration: unknown }[] {
  return [
    {
      name: 'PodSecurity',
      configuration: {
        apiVersion: 'pod-security.admission.config.k8s.io/v1alpha1',
        defaults: {
          audit: 'restricted',
          'audit-version': 'latest',
          enforce: 'baseline',
          'enforce-version': 'latest',
          warn: 'restricted',
          'warn-version': 'latest',
        },
        exemptions: { namespaces: ['kube-system'], runtimeClasses: [], usernames: [] },
        kind: 'PodSecurityConfiguration',
      },
    },
  ];
}

function defaultAuditPolicy(): unknown {
  return { apiVersion: 'audit.k8s.io/v1', kind: 'Policy', rules: [{ level: 'Metadata' }] };
}

function features(): NonNullable<V1Alpha1Config['machine']['features']> {
  return {
    rbac: true,
    stableHostname: true,
    apidCheckExtKeyUsage: true,
    diskQuotaSupport: true,
    kubePrism: { enabled: true, port: DEFAULT_KUBEPRISM_PORT },
    hostDNS: { enabled: true, forwardKubeDNSToHost: true },
  };
}

/** Builds the controlplane and worker configs of a new cluster. */
export function generateMachineConfigs(input: GenerateInput): GeneratedConfigs {
  if (!input.clusterName) throw new TalosError(Code.InvalidArgument, 'cluster name is required');
  if (!URL.canParse(input.endpoint)) throw new TalosError(Code.InvalidArgument, `invalid cluster endpoint ${JSON.stringify(input.endpoint)}`);
  const endpointHost = new URL(input.endpoint).hostname.replace(/^\[|\]$/g, '');
  const kv = (input.kubernetesVersion ?? DEFAULT_KUBERNETES_VERSION).replace(/^v/, '');
  const s = input.secrets;
  const sans = [...(input.additionalSans ?? [])];
  const apiSans = [...new Set([endpointHost, ...sans])];
  const install = { disk: input.installDisk ?? DEFAULT_INSTALL_DISK, image: input.installImage ?? DEFAULT_INSTALLER_IMAGE, wipe: false };
  const kubelet = {
    image: `${KUBERNETES_IMAGES.kubelet}:v${kv}`,
    defaultRuntimeSeccompProfileEnabled: true,
    disableManifestsDirectory: true,
  };
  const network = {
    dnsDomain: input.dnsDomain ?? DEFAULT_DNS_DOMAIN,
    podSubnets: [...(input.podSubnets ?? DEFAULT_POD_SUBNETS)],
    serviceSubnets: [...(input.serviceSubnets ?? DEFAULT_SERVICE_SUBNETS)],
  };
  // Upstream writes the legacy machine.network.kubespan for this config version, only when asked.
  const machineNetwork = (): NonNullable<V1Alpha1Config['machine']['network']> => (input.withKubeSpan ? { kubespan: { enabled: true } } : {});
  const discovery = {
    enabled: input.withClusterDiscovery ?? true,
    registries: { kubernetes: { disabled: true }, service: input.discoveryEndpoint ? { endpoint: input.discoveryEndpoint } : {} },
  };

  const controlplane: V1Alpha1Config = {
    version: 'v1alpha1',
    debug: false,
    persist: true,
    machine: {
      type: 'controlplane',
      token: s.trustdToken,
      ca: { crt: s.os.crt, key: s.os.key },
      certSANs: [...sans],
      kubelet: { ...kubelet },
      network: machineNetwork(),
      install: { ...install },
      registries: {},
      features: features(),
      nodeLabels: { 'node.kubernetes.io/exclude-from-external-load-balancers': '' },
    },
    cluster: {
      id: s.clusterId,
      secret: s.clusterSecret,
      controlPlane: { endpoint: input.endpoint },
      clusterName: input.clusterName,
      network: structuredClone(network),
      token: s.bootstrapToken,
      secretboxEncryptionSecret: s.secretboxEncryptionSecret,
      ca: { crt: s.k8s.crt, key: s.k8s.key },
      aggregatorCA: { crt: s.k8sAggregator.crt, key: s.k8sAggregator.key },
      serviceAccount: { key: s.k8sServiceAccount.key },
      apiServer: {
        image: `${KUBERNETES_IMAGES.apiServer}:v${kv}`,
        certSANs: apiSans,
        disablePodSecurityPolicy: true,
        admissionControl: defaultAdmissionControl(),
        auditPolicy: defaultAuditPolicy(),
      },
      controllerManager: { image: `${KUBERNETES_IMAGES.controllerManager}:v${kv}` },
      proxy: { image: `${KUBERNETES_IMAGES.proxy}:v${kv}` },
      scheduler: { image: `${KUBERNETES_IMAGES.scheduler}:v${kv}` },
      discovery: structuredClone(discovery),
      etcd: { ca: { crt: s.etcd.crt, key: s.etcd.key } },
      extraManifests: [],
      inlineManifests: [],
    },
  };

  // A worker carries CA certificates to verify peers but never a CA key.
  const worker: V1Alpha1Config = {
    version: 'v1alpha1',
    debug: false,
    persist: true,
    machine: {
      type: 'worker',
      token: s.trustdToken,
      ca: { crt: s.os.crt, key: '' },
      certSANs: [...sans],
      kubelet: { ...kubelet },
      network: machineNetwork(),
      install: { ...install },
      registries: {},
      features: features(),
    },
    cluster: {
      id: s.clusterId,
      secret: s.clusterSecret,
      controlPlane: { endpoint: input.endpoint },
      network: structuredClone(network),
      token: s.bootstrapToken,
      ca: { crt: s.k8s.crt, key: '' },
      discovery: structuredClone(discovery),
    },
  };

  return {
    controlplane: withComments(controlplane, 'controlplane.yaml', 'control plane'),
    worker: withComments(worker, 'worker.yaml', 'worker'),
  };
}

function withComments(config: V1Alpha1Config, filename: string, role: string): MachineConfig {
  const doc = commentedDocument(config, v1alpha1Descriptor);
  doc.commentBefore = ` Talos machine config for a ${role} node (v1alpha1). Edit it, then check it with: talosctl validate --config ${filename} --mode metal`;
  attachSource(config, doc);
  return new MachineConfig(config, [], { filename });
}
