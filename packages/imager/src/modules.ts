import { basename } from 'node:path';

/** Kernel modules every image carries (with their dependencies): virtio devices, filesystems, netfilter, bridges. */
export const NODE_MODULE_NAMES = [
  'virtio_pci', 'virtio_blk', 'virtio_net', 'virtio_console', 'virtio_rng', 'virtio_scsi', 'virtio_balloon',
  'e1000', 'e1000e', 'squashfs', 'overlay', 'ext4', 'xfs', 'loop',
  'nf_tables', 'nf_conntrack', 'nf_nat', 'nft_chain_nat', 'nft_ct', 'nft_masq', 'nft_compat', 'br_netfilter',
  'bridge', 'veth', 'vxlan', 'wireguard', 'ip_tables', 'iptable_nat', 'iptable_filter', 'xt_conntrack', 'xt_MASQUERADE',
  'xt_comment', 'xt_mark', 'xt_addrtype', 'ip6_tables', 'ip6table_filter', 'ip6table_nat', 'ipip', 'crc32c_generic', 'af_packet',
  // links the machine config may ask for (loaded at boot: module loading is disabled afterwards)
  '8021q', 'bonding', 'dummy',
];

/** The modules the initramfs needs to reach the SquashFS root on a virtio disk, or carried inside it (loop). */
export const INITRAMFS_MODULE_NAMES = ['virtio_pci', 'virtio_blk', 'squashfs', 'loop'];

function norm(nameOrPath: string): string {
  return basename(nameOrPath).replace(/\.ko(\.[a-z]+)?$/, '').replace(/-/g, '_');
}

/** depmod's text files of one kernel, enough to pick modules and rewrite the files for a subset. */
export interface DepmodFiles {
  readonly dep: string;
  readonly softdep: string;
  readonly alias: string;
}

/** The module files (paths relative to the modules dir) for `names` and their hard and soft dependencies; unknown names are returned apart. */
export function moduleClosure(files: DepmodFiles, names: readonly string[]): { paths: string[]; missing: string[] } {
  const deps = new Map<string, { path: string; deps: string[] }>();
  for (const line of files.dep.split('\n')) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    deps.set(norm(line.slice(0, i)), { path: line.slice(0, i).trim(), deps: line.slice(i + 1).trim().split(/\s+/).filter(Boolean).map(norm) });
  }
  const soft = new Map<string, string[]>();
  for (const line of files.softdep.split('\n')) {
    const w = line.trim().split(/\s+/);
    if (w[0] === 'softdep' && w[1]) soft.set(norm(w[1]), w.slice(2).filter((x) => x !== 'pre:' && x !== 'post:').map(norm));
  }
  const aliases = new Map<string, string>();
  for (const line of files.alias.split('\n')) {
    const w = line.trim().split(/\s+/);
    if (w[0] === 'alias' && w[1] && w[2] && !/[*?[]/.test(w[1])) aliases.set(w[1], norm(w[2]));
  }
  const out = new Set<string>();
  const missing: string[] = [];
  const visit = (n: string, optional: boolean): void => {
    const name = deps.has(n) ? n : aliases.get(n) ?? n;
    const e = deps.get(name);
    if (!e) {
      if (!optional) missing.push(n);
      return;
    }
    if (out.has(e.path)) return;
    out.add(e.path);
    for (const d of e.deps) visit(d, false);
    for (const s of soft.get(name) ?? []) visit(s, true);
  };
  for (const n of names) visit(norm(n), false);
  return { paths: [...out].sort(), missing };
}

/**
 * The module files of `names` in an order the kernel can load them one by one: every module after
 * its hard dependencies and its soft `pre:` dependencies (the initramfs /init loads this list as is).
 */
export function moduleLoadOrder(files: DepmodFiles, names: readonly string[]): string[] {
  const deps = new Map<string, { path: string; deps: string[] }>();
  for (const line of files.dep.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) deps.set(norm(line.slice(0, i)), { path: line.slice(0, i).trim(), deps: line.slice(i + 1).trim().split(/\s+/).filter(Boolean).map(norm) });
  }
  const pre = new Map<string, string[]>();
  for (const line of files.softdep.split('\n')) {
    const w = line.trim().split(/\s+/);
    if (w[0] !== 'softdep' || !w[1]) continue;
    const end = w.indexOf('post:');
    const start = w.indexOf('pre:');
    if (start >= 0) pre.set(norm(w[1]), w.slice(start + 1, end > start ? end : undefined).map(norm));
  }
  const aliases = new Map<string, string>();
  for (const line of files.alias.split('\n')) {
    const w = line.trim().split(/\s+/);
    if (w[0] === 'alias' && w[1] && w[2] && !/[*?[]/.test(w[1])) aliases.set(norm(w[1]), norm(w[2]));
  }
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (n: string): void => {
    const name = deps.has(n) ? n : aliases.get(n) ?? n;
    const e = deps.get(name);
    if (!e || seen.has(name)) return;
    seen.add(name);
    for (const s of pre.get(name) ?? []) visit(s);
    // modules.dep lists the deepest dependency last; loading from the end keeps each after its own.
    for (const d of [...e.deps].reverse()) visit(d);
    order.push(e.path);
  };
  for (const n of names) visit(norm(n));
  return order;
}

/** depmod files rewritten to mention only the modules kept, so a loader never reaches for a missing file. */
export function filterDepmod(files: DepmodFiles, kept: readonly string[]): DepmodFiles {
  const names = new Set(kept.map(norm));
  const keepLine = (line: string, nameAt: (w: string[]) => string | undefined): boolean => {
    const n = nameAt(line.trim().split(/\s+/));
    return n !== undefined && names.has(norm(n));
  };
  return {
    dep: files.dep.split('\n').filter((l) => l.includes(':') && names.has(norm(l.slice(0, l.indexOf(':'))))).join('\n') + '\n',
    softdep: files.softdep.split('\n').filter((l) => keepLine(l, (w) => (w[0] === 'softdep' ? w[1] : undefined))).join('\n') + '\n',
    alias: files.alias.split('\n').filter((l) => keepLine(l, (w) => (w[0] === 'alias' ? w[2] : undefined))).join('\n') + '\n',
  };
}
