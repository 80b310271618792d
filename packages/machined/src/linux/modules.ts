import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';

/** The kernel's view of a module name: dashes and underscores are the same. */
export function moduleName(nameOrPath: string): string {
  return basename(nameOrPath).replace(/\.ko(\.[a-z]+)?$/, '').replace(/-/g, '_');
}

/** What depmod wrote: dependencies, soft dependencies, aliases and built-ins of one kernel. */
export interface ModuleIndex {
  /** module name → path (relative to the modules dir) and its dependencies' names, deepest last. */
  readonly deps: ReadonlyMap<string, { path: string; deps: string[] }>;
  readonly softdeps: ReadonlyMap<string, { pre: string[]; post: string[] }>;
  /** [pattern as a RegExp, module name], in file order. */
  readonly aliases: ReadonlyArray<readonly [RegExp, string]>;
  readonly builtin: ReadonlySet<string>;
}

/** Parses modules.dep text (`kernel/a.ko: kernel/b.ko kernel/c.ko`). */
export function parseModulesDep(text: string): Map<string, { path: string; deps: string[] }> {
  const out = new Map<string, { path: string; deps: string[] }>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const path = line.slice(0, colon).trim();
    const deps = line.slice(colon + 1).trim().split(/\s+/).filter(Boolean).map(moduleName);
    out.set(moduleName(path), { path, deps });
  }
  return out;
}

/** Parses modules.softdep (`softdep nf_tables pre: crc32c post: x`). */
export function parseModulesSoftdep(text: string): Map<string, { pre: string[]; post: string[] }> {
  const out = new Map<string, { pre: string[]; post: string[] }>();
  for (const line of text.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words[0] !== 'softdep' || !words[1]) continue;
    const entry = { pre: [] as string[], post: [] as string[] };
    let into: string[] | undefined;
    for (const w of words.slice(2)) {
      if (w === 'pre:') into = entry.pre;
      else if (w === 'post:') into = entry.post;
      else into?.push(moduleName(w));
    }
    out.set(moduleName(words[1]), entry);
  }
  return out;
}

/** Turns a modules.alias glob (`*`, `?`, `[...]`) into an anchored RegExp. */
export function aliasPattern(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += `[${glob.slice(i + 1, end).replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Parses modules.alias (`alias pci:v00001AF4d00001000sv*sd*bc*sc*i* virtio_pci`). */
export function parseModulesAlias(text: string): Array<readonly [RegExp, string]> {
  const out: Array<readonly [RegExp, string]> = [];
  for (const line of text.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words[0] !== 'alias' || !words[1] || !words[2]) continue;
    out.push([aliasPattern(words[1]), moduleName(words[2])]);
  }
  return out;
}

/** Reads the depmod files of a modules directory (/lib/modules/<release>); missing files count as empty. */
export function readModuleIndex(dir: string): ModuleIndex {
  const read = (name: string): string => (existsSync(join(dir, name)) ? readFileSync(join(dir, name), 'utf8') : '');
  return {
    deps: parseModulesDep(read('modules.dep')),
    softdeps: parseModulesSoftdep(read('modules.softdep')),
    aliases: parseModulesAlias(read('modules.alias')),
    builtin: new Set(read('modules.builtin').split('\n').filter(Boolean).map(moduleName)),
  };
}

/**
 * The files to load, in order, for the given module names or aliases: soft pre-dependencies, hard
 * dependencies (deepest first), the module, soft post-dependencies. Built-in and unknown soft
 * dependencies are skipped; an unknown requested name throws.
 */
export function modulePlan(index: ModuleIndex, wanted: readonly string[]): string[] {
  const order: string[] = [];
  const seen = new Set<string>();
  const resolve = (nameOrAlias: string): string[] => {
    const name = moduleName(nameOrAlias);
    if (index.deps.has(name) || index.builtin.has(name)) return [name];
    return [...new Set(index.aliases.filter(([re]) => re.test(nameOrAlias)).map(([, m]) => m))];
  };
  const visit = (name: string, optional: boolean): void => {
    if (seen.has(name)) return;
    seen.add(name);
    if (index.builtin.has(name)) return;
    const entry = index.deps.get(name);
    if (!entry) {
      if (optional) return;
      throw new Error(`module ${name} not found in modules.dep`);
    }
    const soft = index.softdeps.get(name);
    for (const pre of soft?.pre ?? []) for (const m of resolve(pre)) visit(m, true);
    for (const dep of [...entry.deps].reverse()) visit(dep, false);
    order.push(entry.path);
    for (const post of soft?.post ?? []) for (const m of resolve(post)) visit(m, true);
  };
  for (const w of wanted) {
    const names = resolve(w);
    if (names.length === 0) throw new Error(`no module provides ${w}`);
    for (const n of names) visit(n, false);
  }
  return order;
}

/** The modalias strings of devices the kernel has found (coldplug), from /sys/bus/＊/devices. */
export function deviceModaliases(sysRoot = '/sys'): string[] {
  const out = new Set<string>();
  const buses = join(sysRoot, 'bus');
  if (!existsSync(buses)) return [];
  for (const bus of readdirSync(buses)) {
    const devices = join(buses, bus, 'devices');
    if (!existsSync(devices)) continue;
    for (const dev of readdirSync(devices)) {
      const p = join(devices, dev, 'modalias');
      if (existsSync(p)) {
        const alias = readFileSync(p, 'utf8').trim();
        if (alias) out.add(alias);
      }
    }
  }
  return [...out];
}

/** The modules whose aliases match a device's modalias (what udev would load for it). */
export function modulesForDevices(index: ModuleIndex, modaliases: readonly string[]): string[] {
  const out = new Set<string>();
  for (const a of modaliases) for (const [re, m] of index.aliases) if (re.test(a)) out.add(m);
  return [...out];
}
