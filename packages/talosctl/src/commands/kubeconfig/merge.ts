// Merging a kubeconfig into another with upstream's rules (siderolabs/go-kubeconfig): an entry equal
// to the existing one is kept as is; a clashing one is overwritten or renamed `name-1`, `name-2`, …
// as the conflict handler decides; user names follow renamed clusters and context names follow
// renamed users (Talos names them `admin@<cluster>`); the merged context becomes the current one.

import { isDeepStrictEqual } from 'node:util';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';

/** A kubeconfig as client-go reads it; unknown keys of entries are kept. */
export interface Kubeconfig {
  apiVersion?: string;
  kind?: string;
  preferences?: Record<string, unknown>;
  clusters: NamedEntry<'cluster'>[];
  users: NamedEntry<'user'>[];
  contexts: NamedEntry<'context'>[];
  'current-context'?: string;
  [key: string]: unknown;
}

/** One `{name, <kind>: {...}}` list item. */
export type NamedEntry<K extends string> = { name: string } & { [P in K]: Record<string, unknown> };

/** Which list a conflict is in, named as upstream prints it. */
export type KubeconfigComponent = 'cluster' | 'auth info' | 'context';

/** What to do with a clashing name. */
export type ConflictDecision = 'overwrite' | 'rename';

/** Parses kubeconfig YAML; a missing list reads as empty. Throws with the reason on bad input. */
export function parseKubeconfig(text: string, source: string): Kubeconfig {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new Error(`${source}: invalid YAML: ${(err as Error).message.split('\n')[0] ?? ''}`);
  }
  if (doc === null || doc === undefined) doc = {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`${source}: a kubeconfig must be a mapping`);
  const o = doc as Record<string, unknown>;
  const list = <K extends string>(key: string, inner: K): NamedEntry<K>[] => {
    const v = o[key] ?? [];
    if (!Array.isArray(v)) throw new Error(`${source}: ${key}: must be a list`);
    return v.map((e: unknown, i) => {
      if (!e || typeof e !== 'object' || typeof (e as { name?: unknown }).name !== 'string') throw new Error(`${source}: ${key}[${i}]: must have a name`);
      return { ...(e as object), [inner]: (e as Record<string, unknown>)[inner] ?? {} } as NamedEntry<K>;
    });
  };
  return { ...o, clusters: list('clusters', 'cluster'), users: list('users', 'user'), contexts: list('contexts', 'context') };
}

/** The YAML text, keys in the order client-go writes them. */
export function serializeKubeconfig(k: Kubeconfig): string {
  const { apiVersion, kind, preferences, clusters, users, contexts, 'current-context': current, ...rest } = k;
  return stringifyYaml(
    { apiVersion: apiVersion ?? 'v1', clusters, contexts, 'current-context': current ?? '', kind: kind ?? 'Config', preferences: preferences ?? {}, users, ...rest },
    { lineWidth: 0 },
  );
}

/** Options of {@link mergeKubeconfig}. */
export interface MergeOptions {
  /** Decides a clash of a name whose entry differs; upstream: overwrite with --force, rename when not a terminal, else ask. */
  readonly onConflict: (component: KubeconfigComponent, name: string) => Promise<ConflictDecision>;
  /** Use this name for the merged context (upstream's --force-context-name). */
  readonly forceContextName?: string;
  /** Where "renamed … -> …" lines go. */
  readonly report: (line: string) => void;
}

function uniqueName(taken: ReadonlySet<string>, name: string): string {
  let candidate = name;
  for (let i = 1; taken.has(candidate); i++) candidate = `${name}-${i}`;
  return candidate;
}

function replaceAll(name: string, renames: ReadonlyMap<string, string>): string {
  let out = name;
  for (const [from, to] of renames) out = out.split(from).join(to);
  return out;
}

/** Merges `from` into `into` (which is changed) with upstream's rename rules. */
export async function mergeKubeconfig(into: Kubeconfig, from: Kubeconfig, options: MergeOptions): Promise<void> {
  const decide = async <K extends string>(
    component: KubeconfigComponent,
    list: NamedEntry<K>[],
    kind: K,
    entry: NamedEntry<K>,
    name: string,
  ): Promise<string> => {
    const existing = list.find((e) => e.name === name);
    if (!existing || isDeepStrictEqual(existing[kind], entry[kind])) return name;
    const decision = await options.onConflict(component, name);
    return decision === 'rename' ? uniqueName(new Set(list.map((e) => e.name)), name) : name;
  };
  const clusterNames = new Map<string, string>();
  for (const c of from.clusters) clusterNames.set(c.name, await decide('cluster', into.clusters, 'cluster', c, c.name));
  const userNames = new Map<string, string>();
  for (const u of from.users) userNames.set(u.name, await decide('auth info', into.users, 'user', u, replaceAll(u.name, clusterNames)));
  const contextNames = new Map<string, string>();
  for (const c of from.contexts) {
    const proposed = options.forceContextName || replaceAll(c.name, userNames);
    const entry = { ...c, context: { ...c.context, cluster: clusterNames.get(String(c.context['cluster'])) ?? c.context['cluster'], user: userNames.get(String(c.context['user'])) ?? c.context['user'] } };
    contextNames.set(c.name, await decide('context', into.contexts, 'context', entry, proposed));
  }
  const put = <K extends string>(list: NamedEntry<K>[], entry: NamedEntry<K>): void => {
    const i = list.findIndex((e) => e.name === entry.name);
    if (i >= 0) list[i] = entry;
    else list.push(entry);
  };
  const note = (what: string, from: string, to: string): void => {
    if (from !== to) options.report(`renamed ${what} ${JSON.stringify(from)} -> ${JSON.stringify(to)}`);
  };
  for (const c of from.clusters) {
    const name = clusterNames.get(c.name) ?? c.name;
    note('cluster', c.name, name);
    put(into.clusters, { ...c, name });
  }
  for (const u of from.users) {
    const name = userNames.get(u.name) ?? u.name;
    note('auth info', u.name, name);
    put(into.users, { ...u, name });
  }
  for (const c of from.contexts) {
    const name = contextNames.get(c.name) ?? c.name;
    note('context', c.name, name);
    const context = { ...c.context, cluster: clusterNames.get(String(c.context['cluster'])) ?? c.context['cluster'], user: userNames.get(String(c.context['user'])) ?? c.context['user'] };
    put(into.contexts, { ...c, name, context });
    into['current-context'] = name;
  }
}
