/** Kernel command line arguments as key → last value (`quiet` → ''). */
export function parseCmdline(text: string): Map<string, string> {
  const out = new Map<string, string>();
  // Double quotes group words, as the kernel does for `key="a b"`.
  for (const m of text.trim().matchAll(/(?:[^\s"]+|"[^"]*")+/g)) {
    const word = m[0].replace(/"/g, '');
    const eq = word.indexOf('=');
    if (eq < 0) out.set(word, '');
    else out.set(word.slice(0, eq), word.slice(eq + 1));
  }
  return out;
}

/** Every value of a repeated argument (`ip=` may be given once per link), in order. */
export function cmdlineValues(text: string, key: string): string[] {
  const out: string[] = [];
  for (const m of text.trim().matchAll(/(?:[^\s"]+|"[^"]*")+/g)) {
    const word = m[0].replace(/"/g, '');
    if (word.startsWith(`${key}=`)) out.push(word.slice(key.length + 1));
  }
  return out;
}

/** The static address settings of the kernel's `ip=` argument. */
export interface IpArgument {
  readonly address?: string;
  readonly server?: string;
  readonly gateway?: string;
  readonly prefixLength?: number;
  readonly hostname?: string;
  readonly device?: string;
  readonly autoconf?: string;
  readonly dns: string[];
  readonly ntp: string[];
}

function netmaskToPrefix(mask: string): number | undefined {
  const parts = mask.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
  const bits = parts.map((p) => p.toString(2).padStart(8, '0')).join('');
  return /^1*0*$/.test(bits) ? bits.indexOf('0') === -1 ? 32 : bits.indexOf('0') : undefined;
}

/**
 * Parses `ip=<client>:<server>:<gw>:<netmask>:<hostname>:<device>:<autoconf>:<dns0>:<dns1>:<ntp0>`.
 * `ip=dhcp` and friends carry only autoconf.
 */
export function parseIpArgument(value: string): { value: IpArgument } | { error: string } {
  const f = value.split(':');
  if (f.length === 1) return { value: { autoconf: value, dns: [], ntp: [] } };
  // `<link>:dhcp` names the link, not a client address.
  if (f.length === 2 && f[1] === 'dhcp') return { value: { ...(f[0] ? { device: f[0] } : {}), autoconf: 'dhcp', dns: [], ntp: [] } };
  const opt = (i: number): string | undefined => (f[i] ? f[i] : undefined);
  let prefixLength: number | undefined;
  const mask = opt(3);
  if (mask !== undefined) {
    prefixLength = /^\d+$/.test(mask) ? Number(mask) : netmaskToPrefix(mask);
    if (prefixLength === undefined || prefixLength > 32) return { error: `ip: netmask ${JSON.stringify(mask)} is not valid` };
  }
  const pick = <K extends string, V>(k: K, v: V | undefined): { [P in K]?: V } => (v === undefined ? {} : ({ [k]: v } as { [P in K]?: V }));
  return {
    value: {
      ...pick('address', opt(0)),
      ...pick('server', opt(1)),
      ...pick('gateway', opt(2)),
      ...pick('prefixLength', prefixLength),
      ...pick('hostname', opt(4)),
      ...pick('device', opt(5)),
      ...pick('autoconf', opt(6)),
      dns: [opt(7), opt(8)].filter((x): x is string => x !== undefined),
      ntp: [opt(9)].filter((x): x is string => x !== undefined),
    },
  };
}

/**
 * The `ip=` argument PID 1 applies before the controllers run: the first static one (several `ip=`
 * may be given, e.g. a static NIC0 and `ip=eth1:dhcp`, which the DHCP operator serves later), else the first.
 */
export function earlyIpArgument(values: readonly string[], onError: (error: string) => void): IpArgument | undefined {
  const parsed: IpArgument[] = [];
  for (const v of values) {
    const r = parseIpArgument(v);
    if ('error' in r) onError(r.error);
    else parsed.push(r.value);
  }
  return parsed.find((p) => p.address !== undefined && p.autoconf !== 'dhcp') ?? parsed[0];
}
