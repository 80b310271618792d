// The v1alpha1 machine config document, as one descriptor table. YAML keys, nesting and merge rules
// follow upstream Talos's v1alpha1 types; the doc strings are ours and become the comments written
// into generated files and the JSON Schema descriptions.
import { any, bool, int, list, map, obj, opt, req, str, type Infer } from './schema.ts';

const certAndKey = obj('PEMEncodedCertificateAndKey', {
  crt: opt(str({ format: 'pem' }), 'base64 of the PEM certificate'),
  key: opt(str({ format: 'pem' }), 'base64 of the PEM private key; empty on machines that must not sign'),
});

const certOnly = obj('PEMEncodedCertificate', {
  crt: req(str({ format: 'pem' }), 'base64 of the PEM certificate'),
});

const keyOnly = obj('PEMEncodedKey', {
  key: opt(str({ format: 'pem' }), 'base64 of the PEM private key'),
});

const stringMap = map(str());

const volumeMount = obj('VolumeMountConfig', {
  hostPath: req(str(), 'path on the host'),
  mountPath: req(str(), 'path inside the container'),
  readonly: opt(bool(), 'mount read-only'),
});

const resources = obj('ResourcesConfig', {
  requests: opt(map(any()), 'resources the pod is guaranteed (cpu, memory)'),
  limits: opt(map(any()), 'hard resource caps of the pod'),
});

const extraMount = obj('ExtraMount', {
  destination: req(str(), 'where the mount appears inside the kubelet container'),
  type: opt(str(), 'filesystem type, usually bind'),
  source: req(str(), 'host path that is mounted'),
  options: opt(list(str()), 'mount options such as bind, rshared, rw'),
});

const kubelet = obj('KubeletConfig', {
  image: opt(str(), 'kubelet container image'),
  clusterDNS: opt(list(str({ format: 'ip' })), 'DNS server IPs handed to pods instead of the computed default'),
  extraArgs: opt(stringMap, 'extra kubelet command-line flags'),
  extraMounts: opt(list(extraMount), 'extra host mounts for the kubelet container'),
  extraConfig: opt(any(), 'fields merged into the generated KubeletConfiguration'),
  credentialProviderConfig: opt(any(), 'kubelet image credential provider configuration'),
  defaultRuntimeSeccompProfileEnabled: opt(bool(), 'run pods with the runtime default seccomp profile'),
  registerWithFQDN: opt(bool(), 'register the node under its fully qualified name'),
  nodeIP: opt(
    obj('KubeletNodeIPConfig', {
      validSubnets: opt(list(str({ format: 'subnet-filter' })), 'subnets (or !excluded ones) the node IP is chosen from', {
        merge: 'replace',
      }),
    }),
    'how the kubelet picks the node IP',
  ),
  skipNodeRegistration: opt(bool(), 'run the kubelet in standalone mode without registering the node'),
  disableManifestsDirectory: opt(bool(), 'stop the kubelet reading static pods from /etc/kubernetes/manifests'),
});

const deviceSelector = obj('NetworkDeviceSelector', {
  busPath: opt(str(), 'PCI/USB bus path, glob allowed'),
  hardwareAddr: opt(str(), 'current MAC address, glob allowed'),
  permanentAddr: opt(str(), 'permanent MAC address, glob allowed'),
  pciID: opt(str(), 'PCI vendor:device id'),
  driver: opt(str(), 'kernel driver name'),
  physical: opt(bool(), 'match only physical links'),
});

const route = obj('Route', {
  network: opt(str({ format: 'cidr' }), 'destination; empty for the default route'),
  gateway: opt(str({ format: 'ip' }), 'next hop'),
  source: opt(str({ format: 'ip' }), 'preferred source address'),
  metric: opt(int({ min: 0 }), 'route priority, lower wins'),
  mtu: opt(int({ min: 0 }), 'MTU of the route'),
});

const vip = obj('DeviceVIPConfig', {
  ip: opt(str({ format: 'ip' }), 'shared virtual IP held by one control plane node at a time'),
  equinixMetal: opt(obj('VIPEquinixMetalConfig', { apiToken: req(str(), 'Equinix Metal API token') }), 'announce via the Equinix Metal API'),
  hcloud: opt(obj('VIPHCloudConfig', { apiToken: req(str(), 'Hetzner Cloud API token') }), 'announce via the Hetzner Cloud API'),
});

const dhcpOptions = obj('DHCPOptions', {
  routeMetric: opt(int({ min: 0 }), 'metric of routes learnt over DHCP'),
  ipv4: opt(bool(), 'run DHCPv4'),
  ipv6: opt(bool(), 'run DHCPv6'),
  duidv6: opt(str(), 'DHCPv6 DUID, hex'),
});

const vlan = obj('Vlan', {
  addresses: opt(list(str({ format: 'ip-or-cidr' })), 'static addresses in CIDR notation'),
  cidr: opt(str({ format: 'cidr' }), 'single static address (old form of addresses)', { deprecated: true }),
  routes: opt(list(route), 'static routes'),
  dhcp: opt(bool(), 'configure the VLAN over DHCP'),
  vlanId: req(int({ min: 1, max: 4094 }), 'VLAN id'),
  mtu: opt(int({ min: 0 }), 'MTU of the VLAN link'),
  vip: opt(vip, 'shared virtual IP on this VLAN'),
  dhcpOptions: opt(dhcpOptions, 'DHCP client options'),
});

const bondModes = ['balance-rr', 'active-backup', 'balance-xor', 'broadcast', '802.3ad', 'balance-tlb', 'balance-alb'] as const;

const bond = obj('Bond', {
  interfaces: opt(list(str()), 'links enslaved to the bond'),
  deviceSelectors: opt(list(deviceSelector), 'selectors of links enslaved to the bond'),
  arpIPTarget: opt(list(str({ format: 'ip' })), 'ARP monitoring targets'),
  mode: opt(str({ enum: bondModes }), 'bonding mode'),
  xmitHashPolicy: opt(str(), 'transmit hash policy'),
  lacpRate: opt(str(), 'LACPDU rate: slow or fast'),
  adActorSystem: opt(str(), '802.3ad system MAC'),
  arpValidate: opt(str(), 'ARP probe validation'),
  arpAllTargets: opt(str(), 'which ARP targets must answer'),
  primary: opt(str(), 'preferred link'),
  primaryReselect: opt(str(), 'when the primary link is taken back'),
  failOverMac: opt(str(), 'MAC handling on failover'),
  adSelect: opt(str(), 'aggregator selection logic'),
  miimon: opt(int({ min: 0 }), 'MII link monitoring interval, ms'),
  updelay: opt(int({ min: 0 }), 'delay before enabling a link, ms'),
  downdelay: opt(int({ min: 0 }), 'delay before disabling a link, ms'),
  arpInterval: opt(int({ min: 0 }), 'ARP monitoring interval, ms'),
  resendIgmp: opt(int({ min: 0 }), 'IGMP reports sent after failover'),
  minLinks: opt(int({ min: 0 }), 'links needed before carrier is asserted'),
  lpInterval: opt(int({ min: 0 }), 'learning packet interval, s'),
  packetsPerSlave: opt(int({ min: 0 }), 'packets per link in balance-rr'),
  numPeerNotif: opt(int({ min: 0 }), 'peer notifications after failover'),
  tlbDynamicLb: opt(int({ min: 0 }), 'dynamic shuffling in balance-tlb'),
  allSlavesActive: opt(int({ min: 0 }), 'deliver duplicate frames on inactive links'),
  useCarrier: opt(bool(), 'use netif_carrier for link state'),
  adActorSysPrio: opt(int({ min: 0 }), '802.3ad system priority'),
  adUserPortKey: opt(int({ min: 0 }), '802.3ad user port key'),
  peerNotifyDelay: opt(int({ min: 0 }), 'delay between peer notifications, ms'),
});

const bridge = obj('Bridge', {
  interfaces: req(list(str()), 'links attached to the bridge'),
  stp: opt(obj('STP', { enabled: opt(bool(), 'run spanning tree') }), 'spanning tree settings'),
  vlan: opt(obj('BridgeVLAN', { vlanFiltering: opt(bool(), 'filter frames by VLAN') }), 'VLAN settings'),
});

const wireguard = obj('DeviceWireguardConfig', {
  privateKey: opt(str({ format: 'base64' }), 'WireGuard private key, base64'),
  listenPort: opt(int({ min: 0, max: 65535 }), 'UDP port to listen on'),
  firewallMark: opt(int({ min: 0 }), 'fwmark of outgoing packets'),
  peers: opt(
    list(
      obj('DeviceWireguardPeer', {
        publicKey: req(str({ format: 'base64' }), 'peer public key, base64'),
        endpoint: opt(str(), 'peer host:port'),
        persistentKeepaliveInterval: opt(str({ format: 'duration' }), 'keepalive interval, e.g. 25s'),
        allowedIPs: opt(list(str({ format: 'ip-or-cidr' })), 'addresses routed to the peer'),
      }),
    ),
    'WireGuard peers',
  ),
});

const device = obj('Device', {
  interface: opt(str(), 'link name, e.g. eth0 (or use deviceSelector)'),
  deviceSelector: opt(deviceSelector, 'picks the link by its hardware properties'),
  addresses: opt(list(str({ format: 'ip-or-cidr' })), 'static addresses in CIDR notation'),
  cidr: opt(str({ format: 'cidr' }), 'single static address (old form of addresses)', { deprecated: true }),
  routes: opt(list(route), 'static routes'),
  bond: opt(bond, 'makes this link a bond'),
  bridge: opt(bridge, 'makes this link a bridge'),
  vlans: opt(list(vlan, { mergeKeys: ['vlanId'] }), 'VLANs on top of this link'),
  mtu: opt(int({ min: 0 }), 'link MTU'),
  dhcp: opt(bool(), 'configure the link over DHCP'),
  ignore: opt(bool(), 'leave the link alone'),
  dummy: opt(bool(), 'create a dummy link'),
  dhcpOptions: opt(dhcpOptions, 'DHCP client options'),
  wireguard: opt(wireguard, 'makes this link a WireGuard tunnel'),
  vip: opt(vip, 'shared virtual IP on this link'),
  bridgePort: opt(obj('BridgePort', { master: opt(str(), 'bridge this link is attached to') }), 'attaches this link to a bridge'),
});

const network = obj('NetworkConfig', {
  hostname: opt(str(), 'static hostname of the machine'),
  interfaces: opt(list(device, { mergeKeys: ['interface', 'deviceSelector'] }), 'per-link configuration'),
  nameservers: opt(list(str({ format: 'ip' })), 'DNS servers used instead of DHCP-provided ones'),
  searchDomains: opt(list(str()), 'DNS search domains'),
  extraHostEntries: opt(
    list(
      obj('ExtraHost', {
        ip: req(str({ format: 'ip' }), 'address the aliases resolve to'),
        aliases: req(list(str()), 'host names written to /etc/hosts'),
      }),
    ),
    'extra /etc/hosts entries',
  ),
  kubespan: opt(
    obj('NetworkKubeSpan', {
      enabled: opt(bool(), 'run the KubeSpan WireGuard mesh between nodes'),
      advertiseKubernetesNetworks: opt(bool(), 'route pod networks over KubeSpan'),
      allowDownPeerBypass: opt(bool(), 'bypass peers that are down instead of dropping traffic'),
      harvestExtraEndpoints: opt(bool(), 'learn extra peer endpoints from other peers'),
      mtu: opt(int({ min: 0 }), 'MTU of the KubeSpan link (1420 when unset; at least 1280 when KubeSpan is enabled)'),
      filters: opt(
        obj('KubeSpanFilters', {
          endpoints: opt(list(str({ format: 'subnet-filter' })), 'which peer endpoints may be used (CIDRs, !negated)'),
          excludeAdvertisedNetworks: opt(list(str({ format: 'cidr' })), 'networks this node does not route over KubeSpan'),
        }),
        'endpoint filters',
      ),
    }),
    'KubeSpan mesh settings',
  ),
  disableSearchDomain: opt(bool(), 'do not derive a search domain from the hostname'),
});

const install = obj('InstallConfig', {
  disk: opt(str(), 'the disk Talos is installed to'),
  diskSelector: opt(
    obj('InstallDiskSelector', {
      size: opt(str(), 'disk size, optionally with a comparison, e.g. ">= 1TB"'),
      name: opt(str(), 'disk name'),
      model: opt(str(), 'disk model, glob allowed'),
      serial: opt(str(), 'disk serial number'),
      modalias: opt(str(), 'disk modalias'),
      uuid: opt(str(), 'disk UUID'),
      wwid: opt(str(), 'disk WWID'),
      type: opt(str({ enum: ['ssd', 'hdd', 'nvme', 'sd'] }), 'disk type'),
      busPath: opt(str(), 'disk bus path, glob allowed'),
    }),
    'picks the install disk by its properties instead of its path',
  ),
  extraKernelArgs: opt(list(str()), 'extra kernel command-line arguments'),
  image: opt(str(), 'installer image used for install and upgrade'),
  extensions: opt(list(obj('InstallExtensionConfig', { image: req(str(), 'system extension image') })), 'system extensions to install'),
  wipe: opt(bool(), 'wipe the disk before installing'),
  legacyBIOSSupport: opt(bool(), 'mark the partition bootable for legacy BIOS'),
  bootloader: opt(bool(), 'install a bootloader (always on in recent versions)', { deprecated: true }),
  grubUseUKICmdline: opt(bool(), 'boot GRUB with the kernel command line embedded in the UKI'),
});

const registryTLS = obj('RegistryTLSConfig', {
  clientIdentity: opt(certAndKey, 'client certificate for mutual TLS'),
  ca: opt(str({ format: 'pem' }), 'CA that signs the registry certificate, base64 PEM'),
  insecureSkipVerify: opt(bool(), 'skip registry certificate verification'),
});

const registries = obj('RegistriesConfig', {
  mirrors: opt(
    map(
      obj('RegistryMirrorConfig', {
        endpoints: opt(list(str({ format: 'url' })), 'mirror endpoints tried in order'),
        overridePath: opt(bool(), 'endpoint path already holds the registry path'),
        skipFallback: opt(bool(), 'never fall back to the upstream registry'),
      }),
    ),
    'image registry mirrors, keyed by registry host',
  ),
  config: opt(
    map(
      obj('RegistryConfig', {
        tls: opt(registryTLS, 'TLS settings'),
        auth: opt(
          obj('RegistryAuthConfig', {
            username: opt(str(), 'user name'),
            password: opt(str(), 'password'),
            auth: opt(str(), 'base64 user:password'),
            identityToken: opt(str(), 'identity token'),
          }),
          'credentials',
        ),
      }),
    ),
    'per-registry TLS and credentials, keyed by host',
  ),
});

const encryptionConfig = obj('EncryptionConfig', {
  provider: req(str(), 'encryption provider, luks2'),
  keys: opt(list(any()), 'key slots and their key sources'),
  cipher: opt(str(), 'cipher name'),
  keySize: opt(int({ min: 0 }), 'key size in bits'),
  blockSize: opt(int({ min: 0 }), 'sector size'),
  options: opt(list(str()), 'extra cryptsetup options'),
});

const features = obj('FeaturesConfig', {
  rbac: opt(bool(), 'enforce roles on the Talos API'),
  stableHostname: opt(bool(), 'derive a stable default hostname from the machine id'),
  kubernetesTalosAPIAccess: opt(
    obj('KubernetesTalosAPIAccessConfig', {
      enabled: opt(bool(), 'let pods reach the Talos API'),
      allowedRoles: opt(list(str()), 'Talos roles pods may be granted'),
      allowedKubernetesNamespaces: opt(list(str()), 'namespaces whose pods may ask for access'),
    }),
    'Talos API access from Kubernetes pods',
  ),
  apidCheckExtKeyUsage: opt(bool(), 'require client-auth key usage on apid client certificates'),
  diskQuotaSupport: opt(bool(), 'enable project quotas on the ephemeral partition'),
  kubePrism: opt(
    obj('KubePrism', {
      enabled: opt(bool(), 'run the local load balancer to the API servers'),
      port: opt(int({ min: 0, max: 65535 }), 'local port of the load balancer'),
    }),
    'in-node load balancer in front of the Kubernetes API servers',
  ),
  hostDNS: opt(
    obj('HostDNSConfig', {
      enabled: opt(bool(), 'run the caching DNS resolver on the host'),
      forwardKubeDNSToHost: opt(bool(), 'let cluster DNS forward to the host resolver'),
      resolveMemberNames: opt(bool(), 'resolve cluster member names'),
    }),
    'host caching DNS resolver',
  ),
  imageCache: opt(obj('ImageCacheConfig', { localEnabled: opt(bool(), 'serve images from the local cache') }), 'image cache'),
  nodeAddressSortAlgorithm: opt(str({ enum: ['v1', 'v2'] }), 'how node addresses are ordered'),
});

const machine = obj('MachineConfig', {
  type: req(str({ enum: ['controlplane', 'worker', 'init', 'join'] }), 'role of the machine: controlplane or worker'),
  token: req(str({ format: 'token' }), 'token machines use to get certificates from trustd'),
  ca: opt(certAndKey, 'root CA of the Talos API; the key is present only on control plane machines'),
  acceptedCAs: opt(list(certOnly), 'extra CAs accepted for Talos API clients'),
  certSANs: opt(list(str()), 'extra SANs of the Talos API server certificate'),
  controlPlane: opt(
    obj('MachineControlPlaneConfig', {
      controllerManager: opt(obj('MachineControllerManagerConfig', { disabled: opt(bool(), 'do not run it here') }), 'controller manager on this node'),
      scheduler: opt(obj('MachineSchedulerConfig', { disabled: opt(bool(), 'do not run it here') }), 'scheduler on this node'),
    }),
    'per-node control plane switches',
  ),
  kubelet: opt(kubelet, 'kubelet settings'),
  pods: opt(list(any()), 'static pods run by the kubelet'),
  network: opt(network, 'network settings'),
  disks: opt(
    list(
      obj('MachineDisk', {
        device: req(str(), 'disk path'),
        partitions: opt(
          list(
            obj('DiskPartition', {
              mountpoint: req(str(), 'where the partition is mounted'),
              size: opt(str(), 'partition size; empty uses the rest of the disk'),
            }),
          ),
          'partitions to create',
        ),
      }),
    ),
    'extra disks to partition and mount',
  ),
  install: opt(install, 'installation to disk'),
  files: opt(
    list(
      obj('MachineFile', {
        content: req(str(), 'file contents'),
        permissions: opt(int({ min: 0, max: 0o7777 }), 'file mode, e.g. 0o644'),
        path: req(str(), 'absolute path of the file'),
        op: req(str({ enum: ['create', 'append', 'overwrite'] }), 'create, append or overwrite'),
      }),
    ),
    'files written to the machine at boot',
  ),
  env: opt(stringMap, 'environment variables of Talos services'),
  time: opt(
    obj('TimeConfig', {
      disabled: opt(bool(), 'do not sync time'),
      servers: opt(list(str()), 'NTP servers'),
      bootTimeout: opt(str({ format: 'duration' }), 'how long boot waits for time sync'),
    }),
    'time synchronization',
  ),
  sysctls: opt(stringMap, 'kernel parameters set at boot'),
  sysfs: opt(stringMap, 'sysfs values set at boot'),
  registries: opt(registries, 'image registry mirrors and credentials'),
  systemDiskEncryption: opt(
    obj('SystemDiskEncryptionConfig', {
      state: opt(encryptionConfig, 'encryption of the STATE partition'),
      ephemeral: opt(encryptionConfig, 'encryption of the EPHEMERAL partition'),
    }),
    'system partition encryption',
  ),
  features: opt(features, 'optional machine features'),
  udev: opt(obj('UdevConfig', { rules: opt(list(str()), 'udev rules') }), 'extra udev rules'),
  logging: opt(
    obj('LoggingConfig', {
      destinations: opt(
        list(
          obj('LoggingDestination', {
            endpoint: req(str({ format: 'url' }), 'where logs are sent, e.g. udp://10.0.0.1:5000'),
            format: req(str({ enum: ['json_lines'] }), 'log format'),
            extraTags: opt(stringMap, 'tags added to every message'),
          }),
        ),
        'log destinations',
      ),
    }),
    'service log shipping',
  ),
  kernel: opt(
    obj('KernelConfig', {
      modules: opt(
        list(obj('KernelModuleConfig', { name: req(str(), 'module name'), parameters: opt(list(str()), 'module parameters') })),
        'kernel modules loaded at boot',
      ),
    }),
    'kernel modules',
  ),
  seccompProfiles: opt(
    list(obj('MachineSeccompProfile', { name: req(str(), 'profile file name'), value: req(any(), 'profile contents') })),
    'seccomp profiles written for pods to use',
  ),
  nodeLabels: opt(stringMap, 'labels set on the Kubernetes node'),
  nodeAnnotations: opt(stringMap, 'annotations set on the Kubernetes node'),
  nodeTaints: opt(stringMap, 'taints set on the Kubernetes node'),
  baseRuntimeSpecOverrides: opt(any(), 'overrides of the base OCI runtime spec'),
});

const componentFields = {
  image: opt(str(), 'container image'),
  extraArgs: opt(stringMap, 'extra command-line flags'),
  extraVolumes: opt(list(volumeMount), 'extra host volumes'),
  env: opt(stringMap, 'extra environment variables'),
  resources: opt(resources, 'resource requests and limits of the pod'),
};

const cluster = obj('ClusterConfig', {
  id: opt(str({ format: 'base64' }), 'unique cluster id, base64'),
  secret: opt(str({ format: 'base64' }), 'shared secret of cluster members, base64'),
  controlPlane: req(
    obj('ControlPlaneConfig', {
      endpoint: req(str({ format: 'url' }), 'canonical Kubernetes API URL, e.g. https://1.2.3.4:6443'),
      localAPIServerPort: opt(int({ min: 0, max: 65535 }), 'port the API server listens on locally'),
    }),
    'where the control plane is reached',
  ),
  clusterName: opt(str(), 'name of the cluster'),
  network: opt(
    obj('ClusterNetworkConfig', {
      cni: opt(
        obj('CNIConfig', {
          name: req(str({ enum: ['flannel', 'custom', 'none'] }), 'flannel, custom or none'),
          urls: opt(list(str({ format: 'url' })), 'manifests of a custom CNI'),
          flannel: opt(obj('FlannelCNIConfig', { extraArgs: opt(list(str()), 'extra flanneld flags') }), 'flannel settings'),
        }),
        'pod network plugin',
      ),
      dnsDomain: opt(str(), 'cluster DNS domain'),
      podSubnets: opt(list(str({ format: 'cidr' })), 'pod address ranges', { merge: 'replace' }),
      serviceSubnets: opt(list(str({ format: 'cidr' })), 'service address ranges', { merge: 'replace' }),
    }),
    'cluster networking',
  ),
  token: opt(str({ format: 'token' }), 'Kubernetes bootstrap token'),
  aescbcEncryptionSecret: opt(str({ format: 'base64' }), 'AES-CBC key for secrets at rest (old form)'),
  secretboxEncryptionSecret: opt(str({ format: 'base64' }), 'secretbox key for secrets at rest'),
  ca: opt(certAndKey, 'Kubernetes root CA; the key is present only on control plane machines'),
  acceptedCAs: opt(list(certOnly), 'extra CAs accepted by Kubernetes'),
  aggregatorCA: opt(certAndKey, 'CA of the API aggregation layer'),
  serviceAccount: opt(keyOnly, 'key that signs service account tokens'),
  apiServer: opt(
    obj('APIServerConfig', {
      ...componentFields,
      certSANs: opt(list(str()), 'extra SANs of the API server certificate'),
      disablePodSecurityPolicy: opt(bool(), 'turn off the removed PodSecurityPolicy admission'),
      admissionControl: opt(
        list(
          obj('AdmissionPluginConfig', {
            name: req(str(), 'admission plugin name'),
            configuration: req(any(), 'plugin configuration'),
          }),
        ),
        'admission plugin configurations',
      ),
      auditPolicy: opt(any(), 'API server audit policy', { merge: 'replace' }),
    }),
    'kube-apiserver settings',
  ),
  controllerManager: opt(obj('ControllerManagerConfig', componentFields), 'kube-controller-manager settings'),
  proxy: opt(
    obj('ProxyConfig', {
      disabled: opt(bool(), 'do not run kube-proxy'),
      image: opt(str(), 'container image'),
      mode: opt(str(), 'proxy mode: iptables, ipvs or nftables'),
      extraArgs: opt(stringMap, 'extra command-line flags'),
    }),
    'kube-proxy settings',
  ),
  scheduler: opt(obj('SchedulerConfig', { ...componentFields, config: opt(any(), 'KubeSchedulerConfiguration') }), 'kube-scheduler settings'),
  discovery: opt(
    obj('ClusterDiscoveryConfig', {
      enabled: opt(bool(), 'find cluster members through the registries'),
      registries: opt(
        obj('DiscoveryRegistriesConfig', {
          kubernetes: opt(
            obj('RegistryKubernetesConfig', { disabled: opt(bool(), 'do not use Kubernetes node annotations') }),
            'registry backed by Kubernetes nodes',
          ),
          service: opt(
            obj('RegistryServiceConfig', {
              disabled: opt(bool(), 'do not use the discovery service'),
              endpoint: opt(str({ format: 'url' }), 'discovery service URL'),
            }),
            'registry backed by the discovery service (default endpoint https://discovery.talos.dev/)',
          ),
        }),
        'discovery registries',
      ),
    }),
    'cluster member discovery',
  ),
  etcd: opt(
    obj('EtcdConfig', {
      image: opt(str(), 'etcd container image'),
      ca: opt(certAndKey, 'etcd root CA'),
      extraArgs: opt(stringMap, 'extra etcd flags'),
      advertisedSubnets: opt(list(str({ format: 'subnet-filter' })), 'subnets etcd advertises its peer address from', {
        merge: 'replace',
      }),
      listenSubnets: opt(list(str({ format: 'subnet-filter' })), 'subnets etcd listens on', { merge: 'replace' }),
    }),
    'etcd settings',
  ),
  coreDNS: opt(
    obj('CoreDNS', { disabled: opt(bool(), 'do not deploy CoreDNS'), image: opt(str(), 'CoreDNS image') }),
    'cluster DNS',
  ),
  externalCloudProvider: opt(
    obj('ExternalCloudProviderConfig', {
      enabled: opt(bool(), 'run with an external cloud provider'),
      manifests: opt(list(str({ format: 'url' })), 'manifests of the cloud provider'),
    }),
    'external cloud provider',
  ),
  extraManifests: opt(list(str({ format: 'url' })), 'URLs of extra manifests applied at bootstrap'),
  extraManifestHeaders: opt(stringMap, 'HTTP headers used to fetch extra manifests'),
  inlineManifests: opt(
    list(obj('ClusterInlineManifest', { name: req(str(), 'manifest name'), contents: req(str(), 'manifest YAML') }), {
      mergeKeys: ['name'],
    }),
    'manifests applied at bootstrap, given inline',
  ),
  adminKubeconfig: opt(
    obj('AdminKubeconfigConfig', { certLifetime: opt(str({ format: 'duration' }), 'lifetime of the admin client certificate') }),
    'admin kubeconfig',
  ),
  allowSchedulingOnControlPlanes: opt(bool(), 'let workloads run on control plane nodes'),
  allowSchedulingOnMasters: opt(bool(), 'old name of allowSchedulingOnControlPlanes', { deprecated: true }),
});

/** The descriptor of the whole v1alpha1 document. */
export const v1alpha1Descriptor = obj('Config', {
  version: req(str({ enum: ['v1alpha1'] }), 'schema of this document'),
  debug: opt(bool(), 'send all service logs to the console'),
  persist: opt(bool(), 'keep the config across reboots'),
  machine: req(machine, 'settings of this machine'),
  cluster: opt(cluster, 'settings shared by the cluster'),
});

/** The v1alpha1 document. */
export type V1Alpha1Config = Infer<typeof v1alpha1Descriptor>;
/** The `machine` section. */
export type MachineSection = Infer<typeof machine>;
/** The `cluster` section. */
export type ClusterSection = Infer<typeof cluster>;
/** `machine.network`. */
export type NetworkConfig = Infer<typeof network>;
/** One entry of `machine.network.interfaces`. */
export type NetworkDevice = Infer<typeof device>;
/** A `deviceSelector`. */
export type NetworkDeviceSelector = Infer<typeof deviceSelector>;
/** One VLAN of a link. */
export type NetworkVlan = Infer<typeof vlan>;
/** A static route. */
export type NetworkRoute = Infer<typeof route>;
/** A bond. */
export type NetworkBond = Infer<typeof bond>;
/** `machine.install`. */
export type InstallConfig = Infer<typeof install>;
/** `machine.kubelet`. */
export type KubeletConfig = Infer<typeof kubelet>;
/** `machine.features`. */
export type FeaturesConfig = Infer<typeof features>;
/** A base64 PEM certificate and key pair. */
export type CertAndKey = Infer<typeof certAndKey>;
