import { isIP } from 'node:net';

/** One link's settings from an `ip=` argument. */
export interface CmdlineLinkConfig {
  readonly linkName: string;
  /** CIDR; absent for DHCP-only arguments. */
  readonly address?: string;
  readonly gateway?: string;
  readonly dhcp: boolean;
}

/** What the kernel command line says about networking (upstream: CmdlineNetworking). */
export interface CmdlineNetworking {
  readonly links: readonly CmdlineLinkConfig[];
  readonly hostname?: string;
  readonly dns: readonly string[];
  readonly ntp: readonly string[];
  readonly ignoreInterfaces: readonly string[];
}

/** Every value of a repeated kernel argument, in order (`ip=` may appear several times). */
export function cmdlineValues(cmdline: string, key: string): string[] {
  const out: string[] = [];
  for (const m of cmdline.trim().matchAll(/(?:[^\s"]+|"[^"]*")+/g)) {
    const word = m[0].replace(/"/g, '');
    if (word.startsWith(`${key}=`)) out.push(word.slice(key.length + 1));
  }
  return out;
}

/** Splits an `ip=` value on colons outside `[...]` (IPv6 addresses are bracketed). */
export function splitIpArgument(value: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '[') depth++;
    else if (c === ']') depth--;
    else if (c === ':' && depth === 0) {
      parts.push(value.slice(start, i).replace(/[[\]]/g, ''));
      start = i + 1;
    }
  }
  parts.push(value.slice(start).replace(/[[\]]/g, ''));
  return parts;
}

function prefixOf(mask: string, bits: number): number | undefined {
  if (/^\d+$/.test(mask)) {
    const n = Number(mask);
    return n <= bits ? n : undefined;
  }
  if (isIP(mask) !== 4) return undefined;
  const b = mask.split('.').map((p) => Number(p).toString(2).padStart(8, '0')).join('');
  return /^1*0*$/.test(b) ? b.replace(/0+$/, '').length : undefined;
}

/**
 * Parses the networking arguments of a kernel command line: every `ip=` (static, `dhcp`,
 * `<link>:dhcp`, or the full `client:server:gw:netmask:hostname:device:autoconf:dns0:dns1:ntp0`),
 * `talos.hostname=` and `talos.network.interface.ignore=`. `links` names the machine's links, sorted:
 * an argument without a device applies to the first that is not loopback, as upstream.
 */
export function parseCmdlineNetworking(cmdline: string, links: readonly string[]): { value: CmdlineNetworking } | { error: string } {
  let hostname = cmdlineValues(cmdline, 'talos.hostname')[0];
  const ignoreInterfaces = cmdlineValues(cmdline, 'talos.network.interface.ignore').flatMap((v) => v.split(',')).filter(Boolean);
  const firstLink = links.find((l) => l !== 'lo' && !ignoreInterfaces.includes(l));
  const out: CmdlineLinkConfig[] = [];
  const dns: string[] = [];
  const ntp: string[] = [];
  for (const [n, arg] of cmdlineValues(cmdline, 'ip').entries()) {
    const where = `ip= #${n + 1} (${arg})`;
    const f = splitIpArgument(arg);
    if (f.length === 1 && f[0] === 'dhcp') {
      if (firstLink) out.push({ linkName: firstLink, dhcp: true });
      continue;
    }
    if (f.length === 2 && f[1] === 'dhcp') {
      out.push({ linkName: f[0] ?? '', dhcp: true });
      continue;
    }
    const field = (i: number): string | undefined => (f[i] ? f[i] : undefined);
    let address: string | undefined;
    const client = field(0);
    if (client !== undefined) {
      const family = isIP(client);
      if (family === 0) return { error: `${where}: client address ${JSON.stringify(client)} is not an IP` };
      const bits = family === 4 ? 32 : 128;
      const mask = field(3);
      const prefix = mask === undefined ? bits : prefixOf(mask, bits);
      if (prefix === undefined) return { error: `${where}: netmask ${JSON.stringify(mask)} is not valid` };
      address = `${client}/${prefix}`;
    }
    const gateway = field(2);
    if (gateway !== undefined && isIP(gateway) === 0) return { error: `${where}: gateway ${JSON.stringify(gateway)} is not an IP` };
    if (hostname === undefined && field(4) !== undefined) hostname = field(4);
    for (const i of [7, 8]) {
      const v = field(i);
      if (v === undefined) continue;
      if (isIP(v) === 0) return { error: `${where}: DNS server ${JSON.stringify(v)} is not an IP` };
      dns.push(v);
    }
    const ntp0 = field(9);
    if (ntp0 !== undefined) {
      if (isIP(ntp0) === 0) return { error: `${where}: NTP server ${JSON.stringify(ntp0)} is not an IP` };
      ntp.push(ntp0);
    }
    const linkName = field(5) ?? firstLink;
    if (linkName === undefined) continue;
    out.push({
      linkName,
      ...(address !== undefined ? { address } : {}),
      ...(gateway !== undefined ? { gateway } : {}),
      dhcp: field(6) === 'dhcp',
    });
  }
  return { value: { links: out, ...(hostname !== undefined ? { hostname } : {}), dns, ntp, ignoreInterfaces } };
}
