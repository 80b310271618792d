import type { Controller, ControllerContext } from '@talos-ts/cosi';
import {
  ActiveMachineConfigId,
  HostnameId,
  HostnameStatusType,
  MachineConfigType,
  NamespaceName,
  NodeAddressId,
  NodeAddressType,
  ResolverId,
  ResolverStatusType,
  fqdn,
  nodeIps,
  type HostnameStatusSpec,
  type MachineConfigSpec,
  type NodeAddressSpec,
  type ResolverStatusSpec,
} from '@talos-ts/machinery';
import { machineConfigOf } from '../config/parse.ts';

/** Writes one of the node's /etc files (`hosts`, `resolv.conf`) atomically. */
export type EtcFileWriter = (name: 'hosts' | 'resolv.conf', content: string) => Promise<void>;

/** Options of {@link EtcFileController}. */
export interface EtcFileControllerOptions {
  readonly write: EtcFileWriter;
}

/** /etc/resolv.conf from the resolvers in effect. */
export function renderResolvConf(spec: ResolverStatusSpec): string {
  const lines = spec.dnsServers.map((s) => `nameserver ${s}`);
  if (spec.searchDomains.length > 0) lines.push(`search ${spec.searchDomains.join(' ')}`);
  return `${lines.join('\n')}\n`;
}

/** /etc/hosts: localhost, the node's own name on its default address, then the config's extra entries. */
export function renderHosts(hostname: HostnameStatusSpec, address: string | undefined, extra: readonly { ip: string; aliases: readonly string[] }[]): string {
  const names = hostname.domainname === '' ? hostname.hostname : `${fqdn(hostname)} ${hostname.hostname}`;
  const lines = ['127.0.0.1 localhost', `${address ?? '127.0.1.1'} ${names}`, '::1 localhost ip6-localhost ip6-loopback', 'ff02::1 ip6-allnodes', 'ff02::2 ip6-allrouters'];
  for (const e of extra) lines.push(`${e.ip} ${e.aliases.join(' ')}`);
  return `${lines.join('\n')}\n`;
}

/**
 * network.EtcFileController: /etc/hosts and /etc/resolv.conf, rewritten when their inputs change
 * (the writer decides where: under /system/etc, bind-mounted on metal; the state dir in container mode).
 */
export class EtcFileController implements Controller {
  readonly name = 'network.EtcFileController';
  readonly inputs = [
    { namespace: NamespaceName.network, type: ResolverStatusType, id: ResolverId, kind: 'weak' as const },
    { namespace: NamespaceName.network, type: HostnameStatusType, id: HostnameId, kind: 'weak' as const },
    { namespace: NamespaceName.network, type: NodeAddressType, id: NodeAddressId.default, kind: 'weak' as const },
    { namespace: NamespaceName.config, type: MachineConfigType, id: ActiveMachineConfigId, kind: 'weak' as const },
  ];
  readonly outputs = [];
  readonly #options: EtcFileControllerOptions;

  constructor(options: EtcFileControllerOptions) {
    this.#options = options;
  }

  async run(ctx: ControllerContext): Promise<void> {
    const written = new Map<string, string>();
    for await (const _ of ctx.changes()) {
      const resolvers = ctx.find<ResolverStatusSpec>({ namespace: NamespaceName.network, type: ResolverStatusType, id: ResolverId });
      const hostname = ctx.find<HostnameStatusSpec>({ namespace: NamespaceName.network, type: HostnameStatusType, id: HostnameId });
      if (!resolvers || !hostname) continue;
      const addr = ctx.find<NodeAddressSpec>({ namespace: NamespaceName.network, type: NodeAddressType, id: NodeAddressId.default });
      const mc = ctx.find<MachineConfigSpec>({ namespace: NamespaceName.config, type: MachineConfigType, id: ActiveMachineConfigId });
      const extra = mc ? (machineConfigOf(mc).config.machine.network?.extraHostEntries ?? []) : [];
      const files = {
        'resolv.conf': renderResolvConf(resolvers.spec),
        hosts: renderHosts(hostname.spec, addr ? nodeIps(addr.spec)[0] : undefined, extra),
      } as const;
      for (const [name, content] of Object.entries(files) as ['hosts' | 'resolv.conf', string][]) {
        if (written.get(name) === content) continue;
        await this.#options.write(name, content);
        written.set(name, content);
      }
    }
  }
}
