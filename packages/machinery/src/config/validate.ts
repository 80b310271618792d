// Semantic checks of a loaded config, in the spirit of upstream's `talosctl validate --mode`.
// Types and formats were already checked on load; these are rules spanning fields and modes.
import { isIP } from 'node:net';
import { MAX_QUOTED_CHARS, clipText, quoteValue, renderProblem } from './errors.ts';
import { decodeBase64, parseCIDR } from './formats.ts';
import type { MachineConfig } from './machine-config.ts';
import { childPath, indexPath } from './path.ts';
import type { Node } from './schema.ts';
import { v1alpha1Descriptor, type NetworkDevice, type NetworkVlan, type V1Alpha1Config } from './v1alpha1.ts';

/** Where the machine runs; decides e.g. whether an install disk is needed. */
export type ValidationMode = 'metal' | 'container' | 'cloud';

/** One problem found by validation. */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
  /** Position in the loaded file, when the config came from text. */
  readonly line?: number;
  readonly col?: number;
}

/** Options of {@link validateConfig}. */
export interface ValidateOptions {
  readonly mode: ValidationMode;
  /** Report warnings as errors. */
  readonly strict?: boolean;
}

/** Errors make the config unusable; warnings are likely mistakes. */
export interface ValidationResult {
  readonly errors: ConfigIssue[];
  readonly warnings: ConfigIssue[];
}

/** The modes `validateConfig` knows. */
export const VALIDATION_MODES: readonly ValidationMode[] = ['metal', 'container', 'cloud'];

const MTU_MIN = 576;
const MTU_MAX = 9216;
/** WireGuard over IPv6 needs this much (upstream's KubeSpanLinkMinimumMTU). */
const KUBESPAN_MTU_MIN = 1280;
const hostnameRe = /^(?=.{1,253}$)[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

class Collector {
  readonly errors: ConfigIssue[] = [];
  readonly warnings: ConfigIssue[] = [];
  constructor(private readonly cfg: MachineConfig) {}
  private issue(path: string, message: string): ConfigIssue {
    const pos = this.cfg.locate(path);
    return pos ? { path, message, line: pos.line, col: pos.col } : { path, message };
  }
  error(path: string, message: string): void {
    this.errors.push(this.issue(path, message));
  }
  warn(path: string, message: string): void {
    this.warnings.push(this.issue(path, message));
  }
}

/** Renders an issue as one line: `<file>:<line>:<col>: <path>: <message>`. */
export function formatIssue(file: string, issue: ConfigIssue): string {
  return renderProblem({ file, ...(issue.line !== undefined ? { line: issue.line, col: issue.col ?? 1 } : {}) }, issue.path, issue.message);
}

/** Checks a config for the given mode; never throws. */
export function validateConfig(cfg: MachineConfig, options: ValidateOptions): ValidationResult {
  const c = new Collector(cfg);
  const conf = cfg.config;
  if (!VALIDATION_MODES.includes(options.mode)) {
    c.error('', `unknown mode ${quoteValue(options.mode)} (want one of ${VALIDATION_MODES.join(', ')})`);
    return finish(c, options);
  }
  checkRoleAndSecrets(c, conf);
  checkEndpoint(c, conf);
  checkInstall(c, conf, options.mode);
  checkNetwork(c, conf);
  checkClusterNetwork(c, conf);
  checkDiscovery(c, conf);
  checkMisc(c, conf);
  checkDeprecated(c, conf, v1alpha1Descriptor, '');
  return finish(c, options);
}

function finish(c: Collector, options: ValidateOptions): ValidationResult {
  if (options.strict) return { errors: [...c.errors, ...c.warnings], warnings: [] };
  return { errors: c.errors, warnings: c.warnings };
}

function isControlPlane(conf: V1Alpha1Config): boolean {
  return conf.machine.type === 'controlplane' || conf.machine.type === 'init';
}

function checkRoleAndSecrets(c: Collector, conf: V1Alpha1Config): void {
  const m = conf.machine;
  const cl = conf.cluster;
  if (m.type === 'join') c.warn('machine.type', '"join" is the old name of "worker"');
  if (m.type === 'init') c.warn('machine.type', '"init" is deprecated; use "controlplane" and bootstrap the first node');
  if (!m.ca?.crt) c.error('machine.ca.crt', 'the Talos API CA certificate is required');

  if (isControlPlane(conf)) {
    if (!m.ca?.key) c.error('machine.ca.key', 'a control plane machine needs the Talos API CA key');
    if (!cl) {
      c.error('cluster', 'a control plane machine needs the cluster section');
      return;
    }
    if (!cl.clusterName) c.error('cluster.clusterName', 'a cluster name is required on control plane machines');
    if (!cl.token) c.error('cluster.token', 'a bootstrap token is required on control plane machines');
    if (!cl.ca?.crt || !cl.ca.key) c.error('cluster.ca', 'the Kubernetes CA certificate and key are required on control plane machines');
    if (!cl.etcd?.ca?.crt || !cl.etcd.ca.key) c.error('cluster.etcd.ca', 'the etcd CA certificate and key are required on control plane machines');
    if (!cl.serviceAccount?.key) c.error('cluster.serviceAccount.key', 'the service account key is required on control plane machines');
    if (!cl.secretboxEncryptionSecret && !cl.aescbcEncryptionSecret) {
      c.error('cluster.secretboxEncryptionSecret', 'an encryption secret for Kubernetes secrets at rest is required on control plane machines');
    }
    if (cl.secretboxEncryptionSecret) {
      const raw = decodeBase64(cl.secretboxEncryptionSecret);
      if (raw && raw.length !== 32) c.error('cluster.secretboxEncryptionSecret', `must decode to 32 bytes, got ${raw.length}`);
    }
  } else {
    // A worker must never hold a CA private key: anyone with the node could mint identities.
    const keys: [string, string | undefined][] = [
      ['machine.ca.key', m.ca?.key],
      ['cluster.ca.key', cl?.ca?.key],
      ['cluster.etcd.ca.key', cl?.etcd?.ca?.key],
      ['cluster.aggregatorCA.key', cl?.aggregatorCA?.key],
      ['cluster.serviceAccount.key', cl?.serviceAccount?.key],
    ];
    for (const [path, key] of keys) {
      if (key) c.error(path, 'a worker config must not contain this private key');
    }
    if (!cl?.ca?.crt) c.error('cluster.ca.crt', 'the Kubernetes CA certificate is required');
    if (!cl?.token) c.error('cluster.token', 'a bootstrap token is required for the kubelet to join');
  }
}

function checkEndpoint(c: Collector, conf: V1Alpha1Config): void {
  const ep = conf.cluster?.controlPlane.endpoint;
  if (!ep) {
    c.error('cluster.controlPlane.endpoint', 'the control plane endpoint is required');
    return;
  }
  if (!URL.canParse(ep)) {
    c.error('cluster.controlPlane.endpoint', `invalid URL ${quoteValue(ep)}`);
    return;
  }
  const u = new URL(ep);
  if (u.protocol !== 'https:') c.error('cluster.controlPlane.endpoint', `must be an https URL, got ${quoteValue(ep)}`);
  // URL drops the default port, so look at the text for an explicit one.
  if (!/^[a-z]+:\/\/(?:\[[^\]]+\]|[^/:]+):\d+(?:\/|$)/i.test(ep)) {
    c.error('cluster.controlPlane.endpoint', `must include a port, e.g. https://${u.hostname || 'host'}:6443`);
  }
  if (u.pathname !== '/' && u.pathname !== '') c.warn('cluster.controlPlane.endpoint', 'a path on the endpoint is ignored');
}

function checkInstall(c: Collector, conf: V1Alpha1Config, mode: ValidationMode): void {
  const inst = conf.machine.install;
  if (mode !== 'metal') return;
  if (!inst?.disk && !inst?.diskSelector) c.error('machine.install.disk', 'an install disk (or diskSelector) is required in metal mode');
  if (inst?.disk && !inst.disk.startsWith('/dev/')) c.error('machine.install.disk', `must be a device path under /dev, got ${quoteValue(inst.disk)}`);
  if (inst && !inst.image) c.warn('machine.install.image', 'no installer image: installs and upgrades need one');
}

function checkNetwork(c: Collector, conf: V1Alpha1Config): void {
  const net = conf.machine.network;
  if (!net) return;
  if (net.hostname !== undefined && net.hostname !== '' && !hostnameRe.test(net.hostname)) {
    c.error('machine.network.hostname', `invalid hostname ${quoteValue(net.hostname)}`);
  }
  const names = new Map<string, number>();
  const selectors = new Map<string, number>();
  (net.interfaces ?? []).forEach((dev, i) => {
    const p = indexPath('machine.network.interfaces', i);
    if (!dev.interface && !dev.deviceSelector) c.error(p, 'set either interface or deviceSelector');
    if (dev.interface && dev.deviceSelector) c.error(p, 'interface and deviceSelector are mutually exclusive');
    if (dev.interface) {
      const prev = names.get(dev.interface);
      if (prev !== undefined) c.error(childPath(p, 'interface'), `duplicate interface ${quoteValue(dev.interface)} (also at interfaces[${prev}])`);
      else names.set(dev.interface, i);
    }
    if (dev.deviceSelector) {
      const key = JSON.stringify(dev.deviceSelector);
      if (key === '{}') c.error(childPath(p, 'deviceSelector'), 'an empty deviceSelector matches nothing');
      const prev = selectors.get(key);
      if (prev !== undefined) c.error(childPath(p, 'deviceSelector'), `duplicate deviceSelector (also at interfaces[${prev}])`);
      else selectors.set(key, i);
    }
    checkDevice(c, dev, p);
  });
  if (net.kubespan?.enabled && conf.cluster?.discovery?.enabled !== true) {
    c.error('machine.network.kubespan.enabled', 'KubeSpan needs cluster discovery (cluster.discovery.enabled: true)');
  }
  // Upstream reads an unset (0) MTU as 1420, so only an explicit small one fails.
  const ksMtu = net.kubespan?.mtu;
  if (net.kubespan?.enabled && ksMtu !== undefined && ksMtu !== 0 && ksMtu < KUBESPAN_MTU_MIN) {
    c.error('machine.network.kubespan.mtu', `KubeSpan link MTU must be at least ${KUBESPAN_MTU_MIN}, got ${ksMtu}`);
  }
}

function checkLinkCommon(c: Collector, link: NetworkDevice | NetworkVlan, p: string): void {
  (link.addresses ?? []).forEach((a, j) => {
    if (!parseCIDR(a)) c.error(indexPath(childPath(p, 'addresses'), j), `address ${quoteValue(a)} must be in CIDR notation, e.g. ${clipText(a, MAX_QUOTED_CHARS)}/24`);
  });
  if (link.mtu !== undefined && link.mtu !== 0 && (link.mtu < MTU_MIN || link.mtu > MTU_MAX)) {
    c.error(childPath(p, 'mtu'), `must be ${MTU_MIN}..${MTU_MAX}, got ${link.mtu}`);
  }
  (link.routes ?? []).forEach((r, j) => {
    const rp = indexPath(childPath(p, 'routes'), j);
    const net = r.network ? parseCIDR(r.network) : null;
    if (r.gateway && net && isIP(r.gateway) !== net.family) c.error(rp, 'gateway and network are of different address families');
    if (!r.gateway && !r.network) c.error(rp, 'a route needs a network or a gateway');
  });
}

function checkDevice(c: Collector, dev: NetworkDevice, p: string): void {
  checkLinkCommon(c, dev, p);
  if (dev.bond && dev.bridge) c.error(p, 'a link cannot be both a bond and a bridge');
  if (dev.bond && !dev.bond.interfaces?.length && !dev.bond.deviceSelectors?.length) {
    c.error(childPath(p, 'bond'), 'a bond needs interfaces or deviceSelectors');
  }
  if (dev.bond?.interfaces?.length && dev.bond.deviceSelectors?.length) {
    c.error(childPath(p, 'bond'), 'interfaces and deviceSelectors are mutually exclusive');
  }
  const ids = new Set<number>();
  (dev.vlans ?? []).forEach((v, j) => {
    const vp = indexPath(childPath(p, 'vlans'), j);
    if (ids.has(v.vlanId)) c.error(childPath(vp, 'vlanId'), `duplicate VLAN id ${v.vlanId}`);
    ids.add(v.vlanId);
    checkLinkCommon(c, v, vp);
  });
  if (dev.ignore && (dev.addresses?.length || dev.dhcp)) c.warn(childPath(p, 'ignore'), 'the link is ignored, so its addresses and DHCP do nothing');
}

function checkClusterNetwork(c: Collector, conf: V1Alpha1Config): void {
  const net = conf.cluster?.network;
  if (!net) return;
  const pods = checkSubnets(c, net.podSubnets, 'cluster.network.podSubnets', { v4MaxPrefix: 30, v6MaxPrefix: 126 });
  const svcs = checkSubnets(c, net.serviceSubnets, 'cluster.network.serviceSubnets', { v4MinPrefix: 12, v6MinPrefix: 108 });
  for (const [pi, pod] of pods) {
    for (const [si, svc] of svcs) {
      if (overlaps(pod, svc)) {
        c.error(indexPath('cluster.network.serviceSubnets', si), `overlaps pod subnet ${pod.text} (podSubnets[${pi}])`);
      }
    }
  }
  if (net.dnsDomain !== undefined && net.dnsDomain !== '' && !hostnameRe.test(net.dnsDomain)) {
    c.error('cluster.network.dnsDomain', `invalid DNS domain ${quoteValue(net.dnsDomain)}`);
  }
  if (net.cni?.name === 'custom' && !net.cni.urls?.length) c.error('cluster.network.cni.urls', 'a custom CNI needs at least one manifest URL');
  if (net.cni && net.cni.name !== 'custom' && net.cni.urls?.length) c.warn('cluster.network.cni.urls', `urls are only used with the custom CNI`);
}

interface Subnet {
  text: string;
  family: 4 | 6;
  prefix: number;
  bits: bigint;
}

function ipBits(ip: string, family: 4 | 6): bigint {
  if (family === 4) return ip.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
  const [head = '', tail = ''] = ip.includes('::') ? ip.split('::') : [ip, ''];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  let parts = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const last = parts[parts.length - 1] ?? '';
  if (last.includes('.')) {
    const v4 = ipBits(last, 4);
    parts = [...parts.slice(0, -1), (v4 >> 16n).toString(16), (v4 & 0xffffn).toString(16)].slice(-8);
  }
  return parts.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g || '0', 16)), 0n);
}

function overlaps(a: Subnet, b: Subnet): boolean {
  if (a.family !== b.family) return false;
  const width = a.family === 4 ? 32 : 128;
  const p = Math.min(a.prefix, b.prefix);
  const shift = BigInt(width - p);
  return a.bits >> shift === b.bits >> shift;
}

function checkSubnets(
  c: Collector,
  list: string[] | undefined,
  path: string,
  limits: { v4MinPrefix?: number; v6MinPrefix?: number; v4MaxPrefix?: number; v6MaxPrefix?: number },
): [number, Subnet][] {
  const out: [number, Subnet][] = [];
  const families = new Map<number, number>();
  (list ?? []).forEach((s, i) => {
    const p = indexPath(path, i);
    const cidr = parseCIDR(s);
    if (!cidr) {
      c.error(p, `invalid CIDR ${quoteValue(s)}`);
      return;
    }
    const prev = families.get(cidr.family);
    if (prev !== undefined) c.error(p, `more than one IPv${cidr.family} subnet (also at [${prev}])`);
    families.set(cidr.family, i);
    const min = cidr.family === 4 ? limits.v4MinPrefix : limits.v6MinPrefix;
    const max = cidr.family === 4 ? limits.v4MaxPrefix : limits.v6MaxPrefix;
    if (min !== undefined && cidr.prefix < min) c.error(p, `prefix /${cidr.prefix} is too large a range, use /${min} or longer`);
    if (max !== undefined && cidr.prefix > max) c.error(p, `prefix /${cidr.prefix} leaves too few addresses, use /${max} or shorter`);
    const width = cidr.family === 4 ? 32 : 128;
    const bits = ipBits(cidr.ip, cidr.family);
    const hostMask = (1n << BigInt(width - cidr.prefix)) - 1n;
    if ((bits & hostMask) !== 0n) c.warn(p, `${s} has host bits set; the network is ${s.split('/')[0]} masked to /${cidr.prefix}`);
    out.push([i, { text: s, family: cidr.family, prefix: cidr.prefix, bits }]);
  });
  if (list && list.length === 0) c.error(path, 'at least one subnet is required');
  return out;
}

function checkDiscovery(c: Collector, conf: V1Alpha1Config): void {
  const d = conf.cluster?.discovery;
  if (!d?.enabled) return;
  if (d.registries?.kubernetes?.disabled && d.registries.service?.disabled) {
    c.warn('cluster.discovery.registries', 'discovery is enabled but every registry is disabled');
  }
  if (!conf.cluster?.id || !conf.cluster.secret) c.error('cluster.id', 'discovery needs cluster.id and cluster.secret');
}

function checkMisc(c: Collector, conf: V1Alpha1Config): void {
  const m = conf.machine;
  (m.files ?? []).forEach((f, i) => {
    const p = indexPath('machine.files', i);
    if (!f.path.startsWith('/')) c.error(childPath(p, 'path'), `must be an absolute path, got ${quoteValue(f.path)}`);
    else if (f.op === 'create' && !f.path.startsWith('/var/')) c.warn(childPath(p, 'path'), 'new files can only be created under /var');
  });
  (m.certSANs ?? []).forEach((s, i) => {
    if (s.trim() === '') c.error(indexPath('machine.certSANs', i), 'empty SAN');
  });
  const kp = m.features?.kubePrism;
  if (kp?.enabled && (kp.port === undefined || kp.port < 1)) c.error('machine.features.kubePrism.port', 'KubePrism needs a port in 1..65535');
  const seen = new Map<string, number>();
  (conf.cluster?.inlineManifests ?? []).forEach((im, i) => {
    const p = indexPath('cluster.inlineManifests', i);
    if (!im.name) c.error(childPath(p, 'name'), 'an inline manifest needs a name');
    const prev = seen.get(im.name);
    if (prev !== undefined) c.error(childPath(p, 'name'), `duplicate inline manifest name ${quoteValue(im.name)}`);
    seen.set(im.name, i);
  });
  if (conf.machine.time?.disabled && conf.machine.time.servers?.length) c.warn('machine.time.servers', 'time sync is disabled, servers are unused');
  if (conf.cluster?.allowSchedulingOnControlPlanes && conf.machine.type === 'worker') {
    c.warn('cluster.allowSchedulingOnControlPlanes', 'has no effect on a worker');
  }
}

/** Warns about every deprecated field in use, found through the descriptor table. */
function checkDeprecated(c: Collector, value: unknown, d: Node, path: string): void {
  if (value == null) return;
  if (d.kind === 'object' && typeof value === 'object') {
    for (const [key, field] of Object.entries(d.fields)) {
      const v = (value as Record<string, unknown>)[key];
      if (v === undefined) continue;
      const p = childPath(path, key);
      if (field.deprecated) c.warn(p, 'this field is deprecated');
      checkDeprecated(c, v, field.node, p);
    }
  } else if (d.kind === 'list' && Array.isArray(value)) {
    value.forEach((v, i) => checkDeprecated(c, v, d.item, indexPath(path, i)));
  } else if (d.kind === 'map' && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) checkDeprecated(c, v, d.value, childPath(path, k));
  }
}
