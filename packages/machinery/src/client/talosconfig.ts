// The client configuration file (talosconfig): named contexts of endpoints, nodes and mTLS
// credentials. Same YAML shape as upstream so either talosctl reads the other's file.

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { Code, TalosError } from '@talos-ts/cosi';

/** One context. `ca`, `crt` and `key` are base64 of PEM text, as upstream stores them. */
export interface TalosconfigContext {
  readonly endpoints: readonly string[];
  readonly nodes?: readonly string[];
  readonly ca?: string;
  readonly crt?: string;
  readonly key?: string;
  /** Upstream's alternative auth methods; carried through untouched. */
  readonly auth?: Readonly<Record<string, unknown>>;
  readonly cluster?: string;
  /** Upstream's `proxy-url`: socks5/http(s) proxy for the API connection, or `direct`; stored, not yet dialled through. */
  readonly proxyUrl?: string;
}

/** The whole file: the current context name and every context by name. */
export interface Talosconfig {
  readonly context: string;
  readonly contexts: Readonly<Record<string, TalosconfigContext>>;
}

/** A field-level failure of {@link parseTalosconfig}. */
export interface TalosconfigError {
  readonly path: string;
  readonly message: string;
}

/** A talosconfig holding one context with PEM credentials (base64-encoded on the way in). */
export function newTalosconfig(
  contextName: string,
  options: { endpoints: readonly string[]; nodes?: readonly string[]; caPem: string; crtPem: string; keyPem: string },
): Talosconfig {
  const enc = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  return {
    context: contextName,
    contexts: {
      [contextName]: {
        endpoints: [...options.endpoints],
        ...(options.nodes && options.nodes.length > 0 ? { nodes: [...options.nodes] } : {}),
        ca: enc(options.caPem),
        crt: enc(options.crtPem),
        key: enc(options.keyPem),
      },
    },
  };
}

function stringList(v: unknown, path: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new TalosconfigFailure(path, 'must be a list of strings');
  return v.map((item, i) => {
    if (typeof item !== 'string') throw new TalosconfigFailure(`${path}[${i}]`, 'must be a string');
    return item;
  });
}

class TalosconfigFailure extends Error {
  constructor(readonly path: string, message: string) {
    super(message);
  }
}

function optString(o: Record<string, unknown>, key: string, path: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new TalosconfigFailure(`${path}.${key}`, 'must be a string');
  if ((key === 'ca' || key === 'crt' || key === 'key') && !/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(v)) {
    throw new TalosconfigFailure(`${path}.${key}`, 'must be base64-encoded PEM');
  }
  return v;
}

/** Parses talosconfig YAML; a deprecated `target` is folded into endpoints as upstream does. */
export function parseTalosconfig(text: string): { value: Talosconfig } | { error: TalosconfigError } {
  let doc: unknown;
  try {
    doc = parseYaml(text, { schema: 'failsafe', uniqueKeys: true });
  } catch (err) {
    return { error: { path: '', message: `invalid YAML: ${(err as Error).message.split('\n')[0] ?? ''}` } };
  }
  try {
    if (doc === null || doc === undefined || doc === '') return { value: { context: '', contexts: {} } };
    if (typeof doc !== 'object' || Array.isArray(doc)) throw new TalosconfigFailure('', 'must be a mapping');
    const root = doc as Record<string, unknown>;
    const context = root['context'] ?? '';
    if (typeof context !== 'string') throw new TalosconfigFailure('context', 'must be a string');
    const rawContexts = root['contexts'] ?? {};
    if (typeof rawContexts !== 'object' || Array.isArray(rawContexts) || rawContexts === null) {
      throw new TalosconfigFailure('contexts', 'must be a mapping');
    }
    const contexts: Record<string, TalosconfigContext> = {};
    for (const [name, raw] of Object.entries(rawContexts as Record<string, unknown>)) {
      const path = `contexts.${name}`;
      if (raw === null || raw === '') {
        contexts[name] = { endpoints: [] };
        continue;
      }
      if (typeof raw !== 'object' || Array.isArray(raw)) throw new TalosconfigFailure(path, 'must be a mapping');
      const o = raw as Record<string, unknown>;
      const endpoints = stringList(o['endpoints'], `${path}.endpoints`);
      const target = optString(o, 'target', path);
      if (target) endpoints.push(target);
      const nodes = stringList(o['nodes'], `${path}.nodes`);
      const ca = optString(o, 'ca', path);
      const crt = optString(o, 'crt', path);
      const key = optString(o, 'key', path);
      const cluster = optString(o, 'cluster', path);
      const proxyUrl = optString(o, 'proxy-url', path);
      const auth = o['auth'];
      contexts[name] = {
        endpoints,
        ...(nodes.length > 0 ? { nodes } : {}),
        ...(ca ? { ca } : {}),
        ...(crt ? { crt } : {}),
        ...(key ? { key } : {}),
        ...(auth && typeof auth === 'object' && !Array.isArray(auth) ? { auth: auth as Record<string, unknown> } : {}),
        ...(cluster ? { cluster } : {}),
        ...(proxyUrl ? { proxyUrl } : {}),
      };
    }
    return { value: { context, contexts } };
  } catch (err) {
    if (err instanceof TalosconfigFailure) return { error: { path: err.path, message: err.message } };
    throw err;
  }
}

/** The file's YAML text, laid out as upstream's encoder writes it. */
export function serializeTalosconfig(config: Talosconfig): string {
  const contexts: Record<string, unknown> = {};
  for (const [name, c] of Object.entries(config.contexts)) {
    contexts[name] = {
      endpoints: [...c.endpoints],
      ...(c.nodes && c.nodes.length > 0 ? { nodes: [...c.nodes] } : {}),
      ...(c.ca ? { ca: c.ca } : {}),
      ...(c.crt ? { crt: c.crt } : {}),
      ...(c.key ? { key: c.key } : {}),
      ...(c.auth && Object.keys(c.auth).length > 0 ? { auth: c.auth } : {}),
      ...(c.cluster ? { cluster: c.cluster } : {}),
      ...(c.proxyUrl ? { 'proxy-url': c.proxyUrl } : {}),
    };
  }
  return stringifyYaml({ context: config.context, contexts }, { indent: 4, lineWidth: 0, minContentWidth: 0 });
}

/** A context renamed by {@link mergeTalosconfig} to avoid a clash. */
export interface ContextRename {
  readonly from: string;
  readonly to: string;
}

/**
 * Merges `from` into `into`. A clashing name becomes `name-1`, `name-2`, … unless `force`, which
 * replaces the existing context instead. The current context follows `from`'s (renamed if it was).
 */
export function mergeTalosconfig(
  into: Talosconfig,
  from: Talosconfig,
  options: { force?: boolean } = {},
): { config: Talosconfig; renames: ContextRename[] } {
  const contexts: Record<string, TalosconfigContext> = { ...into.contexts };
  const renames: ContextRename[] = [];
  const mapped = new Map<string, string>();
  for (const name of Object.keys(from.contexts).sort()) {
    const ctx = from.contexts[name] as TalosconfigContext;
    let target = name;
    if (!options.force && Object.hasOwn(contexts, name)) {
      for (let i = 1; Object.hasOwn(contexts, target); i++) target = `${name}-${i}`;
      renames.push({ from: name, to: target });
    }
    mapped.set(name, target);
    contexts[target] = ctx;
  }
  const context = from.context !== '' ? (mapped.get(from.context) ?? from.context) : into.context;
  return { config: { context, contexts }, renames };
}

/** Where the talosconfig lives and why. */
export interface TalosconfigLocation {
  readonly path: string;
  readonly source: 'flag' | 'env' | 'xdg' | 'home';
}

/**
 * Resolves the talosconfig path: --talosconfig, then $TALOSCONFIG, then
 * $XDG_CONFIG_HOME/talos/config.yaml when XDG_CONFIG_HOME is set, else ~/.talos/config.
 */
export function resolveTalosconfigPath(options: {
  readonly flag?: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly homeDir: string;
}): TalosconfigLocation {
  if (options.flag) return { path: options.flag, source: 'flag' };
  const env = options.env['TALOSCONFIG'];
  if (env) return { path: env, source: 'env' };
  const xdg = options.env['XDG_CONFIG_HOME'];
  if (xdg) return { path: join(xdg, 'talos', 'config.yaml'), source: 'xdg' };
  return { path: join(options.homeDir, '.talos', 'config'), source: 'home' };
}

/** Reads a talosconfig; a missing file reads as empty when `allowMissing` (upstream creates it lazily). */
export async function loadTalosconfig(file: string, options: { allowMissing?: boolean } = {}): Promise<Talosconfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && options.allowMissing) return { context: '', contexts: {} };
    throw new TalosError(Code.NotFound, `error reading config: ${(err as Error).message}`, { cause: err });
  }
  const res = parseTalosconfig(text);
  if ('error' in res) {
    const where = res.error.path ? `${res.error.path}: ` : '';
    throw new TalosError(Code.InvalidArgument, `${file}: ${where}${res.error.message}`, {
      details: { file, path: res.error.path },
    });
  }
  return res.value;
}

/** Writes a talosconfig (mode 0600), creating its directory (0700) when needed. */
export async function saveTalosconfig(file: string, config: Talosconfig): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, serializeTalosconfig(config), { mode: 0o600 });
}

/** PEM credentials of a context, decoded; throws when the context has none. */
export function contextCredentials(ctx: TalosconfigContext): { caPem: string; crtPem: string; keyPem: string } {
  if (!ctx.ca || !ctx.crt || !ctx.key) throw new TalosError(Code.FailedPrecondition, 'context has no client credentials');
  const dec = (s: string) => Buffer.from(s, 'base64').toString('utf8');
  return { caPem: dec(ctx.ca), crtPem: dec(ctx.crt), keyPem: dec(ctx.key) };
}
