import { parseDomainSearch } from '../dhcp4/lease.ts';
import { Opt6, Status6, decodeOptions, ip6ToString, opt6, type Dhcp6Message } from './message.ts';

/** What a DHCPv6 (IA_NA) lease gives the node. The on-link prefix comes from router advertisements. */
export interface Dhcp6Lease {
  readonly address: string;
  /** 128: an IA_NA address says nothing about the prefix (RFC 8415 21.6). */
  readonly prefixLength: 128;
  readonly cidr: string;
  /** The server's DUID (hex), sent back in RENEW and RELEASE. */
  readonly serverId: string;
  readonly iaid: number;
  readonly dns: readonly string[];
  readonly searchDomains: readonly string[];
  readonly ntp: readonly string[];
  readonly times: Dhcp6LeaseTimes;
}

/** IA_NA timing on the client's clock. */
export interface Dhcp6LeaseTimes {
  readonly acquiredAtMs: number;
  readonly preferredSeconds: number;
  readonly validSeconds: number;
  readonly renewSeconds: number;
  readonly rebindSeconds: number;
}

/** The reply's status (option 13 at top level or in IA_NA), Success when absent. */
export function statusOf(options: readonly (readonly [number, Buffer])[]): { code: number; message: string } {
  const s = options.find(([c]) => c === Opt6.StatusCode)?.[1];
  if (!s || s.length < 2) return { code: Status6.Success, message: '' };
  return { code: s.readUInt16BE(0), message: s.toString('utf8', 2) };
}

/** Builds the lease from a REPLY (or checks an ADVERTISE): undefined when it grants no address. */
export function leaseFromReply(reply: Dhcp6Message, iaid: number, acquiredAtMs: number): { lease?: Dhcp6Lease; warnings: string[]; status: number } {
  const warnings: string[] = [];
  const top = statusOf(reply.options);
  if (top.code !== Status6.Success) return { warnings: [`status ${top.code}: ${top.message}`], status: top.code };
  const serverId = opt6(reply, Opt6.ServerId);
  const ia = reply.options.find(([c, v]) => c === Opt6.IaNa && v.length >= 12 && v.readUInt32BE(0) === iaid)?.[1];
  if (!serverId || !ia) return { warnings: ['reply without a server id or our IA_NA'], status: Status6.NoAddrsAvail };
  const t1 = ia.readUInt32BE(4);
  const t2 = ia.readUInt32BE(8);
  const inner = decodeOptions(ia.subarray(12), 'IA_NA', warnings);
  const iaStatus = statusOf(inner);
  if (iaStatus.code !== Status6.Success) return { warnings: [...warnings, `IA_NA status ${iaStatus.code}: ${iaStatus.message}`], status: iaStatus.code };
  let best: { address: string; preferred: number; valid: number } | undefined;
  for (const [code, v] of inner) {
    if (code !== Opt6.IaAddr) continue;
    if (v.length < 24) {
      warnings.push(`IAADDR: length ${v.length}, want at least 24, ignored`);
      continue;
    }
    const valid = v.readUInt32BE(20);
    if (valid === 0) continue;
    best ??= { address: ip6ToString(v, 0), preferred: v.readUInt32BE(16), valid };
  }
  if (!best) return { warnings: [...warnings, 'IA_NA without a valid address'], status: Status6.NoAddrsAvail };

  const ips = (code: number, name: string): string[] => {
    const v = opt6(reply, code);
    if (!v) return [];
    if (v.length % 16 !== 0) {
      warnings.push(`option ${code} (${name}): length ${v.length} is not a multiple of 16, ignored`);
      return [];
    }
    const out: string[] = [];
    for (let i = 0; i < v.length; i += 16) out.push(ip6ToString(v, i));
    return out;
  };
  let searchDomains: string[] = [];
  const dl = opt6(reply, Opt6.DomainList);
  if (dl) {
    const r = parseDomainSearch(dl);
    if ('error' in r) warnings.push(`option 24 (domain list): ${r.error}, ignored`);
    else searchDomains = r.names;
  }
  // NTP (56) carries suboptions: 1 server address, 2 multicast address, 3 server FQDN.
  const ntp: string[] = [];
  for (const [code, v] of reply.options) {
    if (code !== Opt6.NtpServer) continue;
    for (const [sub, sv] of decodeOptions(v, 'option 56', warnings)) {
      if ((sub === 1 || sub === 2) && sv.length === 16) ntp.push(ip6ToString(sv));
      else if (sub === 3) {
        const r = parseDomainSearch(sv);
        if ('names' in r) ntp.push(...r.names);
      } else warnings.push(`option 56: suboption ${sub} of length ${sv.length} ignored`);
    }
  }
  if (ntp.length === 0) ntp.push(...ips(Opt6.Sntp, 'SNTP servers'));

  // T1/T2 of 0 leave the choice to the client (RFC 8415 21.4): 0.5 and 0.8 of the preferred lifetime.
  const preferred = best.preferred === 0xffffffff ? Number.POSITIVE_INFINITY : best.preferred;
  const validSeconds = best.valid === 0xffffffff ? Number.POSITIVE_INFINITY : best.valid;
  let renewSeconds = t1 === 0 ? preferred * 0.5 : t1 === 0xffffffff ? Number.POSITIVE_INFINITY : t1;
  let rebindSeconds = t2 === 0 ? preferred * 0.8 : t2 === 0xffffffff ? Number.POSITIVE_INFINITY : t2;
  if (!(rebindSeconds <= validSeconds)) rebindSeconds = validSeconds * 0.8;
  if (!(renewSeconds <= rebindSeconds)) renewSeconds = rebindSeconds * 0.625;
  return {
    lease: {
      address: best.address,
      prefixLength: 128,
      cidr: `${best.address}/128`,
      serverId: serverId.toString('hex'),
      iaid,
      dns: ips(Opt6.DnsServers, 'DNS servers'),
      searchDomains,
      ntp,
      times: { acquiredAtMs, preferredSeconds: preferred, validSeconds, renewSeconds, rebindSeconds },
    },
    warnings,
    status: Status6.Success,
  };
}
