import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { Code, TalosError } from '@talos-ts/cosi';
import { isIndex, MediaType, type Descriptor, type ImageIndexDoc, type ImageManifestDoc } from './media.ts';
import { formatImageReference, manifestReference, parseImageReference, type ImageReference } from './reference.ts';

/** `machine.registries.mirrors`: endpoints tried before (or, with skipFallback, instead of) a registry. */
export type RegistryMirrors = Readonly<Record<string, { readonly endpoints?: readonly string[]; readonly skipFallback?: boolean }>>;

/** Options shared by pull and push. */
export interface RegistryOptions {
  readonly mirrors?: RegistryMirrors;
  /** Per-request deadline for headers and small bodies (default 30 s); blobs stream without one. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

const MAX_MANIFEST_BYTES = 4 << 20;
const ACCEPT = [MediaType.ociManifest, MediaType.ociIndex, MediaType.dockerManifest, MediaType.dockerList].join(', ');
const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d+)?$/;

/**
 * The base URLs a registry is reached at, in order: configured mirrors (an `http://` endpoint is
 * plain HTTP, as upstream's insecure mirrors), then the registry itself unless a mirror says
 * skipFallback: plain HTTP for loopback hosts (as containerd does for localhost), HTTPS otherwise.
 */
export function registryEndpoints(registry: string, mirrors: RegistryMirrors = {}): string[] {
  const m = mirrors[registry];
  const out = (m?.endpoints ?? []).map((e) => e.replace(/\/+$/, '').replace(/\/v2$/, ''));
  if (!m?.skipFallback || out.length === 0) {
    const host = registry === 'docker.io' ? 'registry-1.docker.io' : registry;
    out.push(`${LOOPBACK.test(host) ? 'http' : 'https'}://${host}`);
  }
  return out;
}

interface Response {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: IncomingMessage;
}

/** One HTTP exchange; network failures become Unavailable so callers can tell them from refusals. */
function request(url: URL, init: { method: string; headers?: Record<string, string>; body?: Buffer | string; bodyFile?: string; timeoutMs: number; signal?: AbortSignal }): Promise<Response> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const headers: Record<string, string | number> = { ...init.headers };
    if (init.body !== undefined) headers['content-length'] = Buffer.byteLength(init.body);
    if (init.bodyFile !== undefined) headers['content-length'] = statSync(init.bodyFile).size;
    const req = mod.request(url, { method: init.method, headers, ...(init.signal ? { signal: init.signal } : {}) }, (res) => {
      clearTimeout(timer);
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res });
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer in ${init.timeoutMs} ms`)), init.timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      if (init.signal?.aborted) reject(init.signal.reason);
      else reject(new TalosError(Code.Unavailable, `registry ${url.host}: ${init.method} ${url.pathname}: ${err.message}`, { cause: err }));
    });
    if (init.bodyFile !== undefined) {
      // Uploading a blob can outlast the header deadline; the timer only guards the first answer.
      clearTimeout(timer);
      createReadStream(init.bodyFile).on('error', (err) => req.destroy(err)).pipe(req);
    } else req.end(init.body);
  });
}

async function readBody(res: Response, limit = MAX_MANIFEST_BYTES): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res.body as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > limit) {
      res.body.destroy();
      throw new TalosError(Code.ResourceExhausted, `registry answer exceeds ${limit} bytes`);
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

/** The registry's own error code and message (distribution's `{"errors":[{code,message}]}`), if any. */
async function registryError(res: Response): Promise<string> {
  try {
    const doc = JSON.parse((await readBody(res, 64 << 10)).toString('utf8')) as { errors?: Array<{ code?: string; message?: string }> };
    const e = doc.errors?.[0];
    return e ? `${e.code ?? ''}${e.message ? `: ${e.message}` : ''}` : '';
  } catch {
    return '';
  }
}

function codeForStatus(status: number): Code {
  if (status === 404) return Code.NotFound;
  if (status === 401 || status === 403) return Code.PermissionDenied;
  if (status === 400) return Code.InvalidArgument;
  return Code.Unavailable;
}

/**
 * One repository on one registry, with the anonymous bearer token dance of the distribution spec
 * (a public registry answers 401 with where to get a token for the scope).
 */
class Repository {
  #token: string | undefined;
  constructor(
    readonly base: string,
    readonly name: string,
    readonly scope: 'pull' | 'pull,push',
    readonly timeoutMs: number,
    readonly signal: AbortSignal | undefined,
  ) {}

  url(path: string): URL {
    return new URL(`${this.base}/v2/${this.name}/${path}`);
  }

  async send(method: string, url: URL, init: { headers?: Record<string, string>; body?: Buffer | string; bodyFile?: string } = {}): Promise<Response> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const headers = { ...init.headers, ...(this.#token ? { authorization: `Bearer ${this.#token}` } : {}) };
      const res = await request(url, { method, ...init, headers, timeoutMs: this.timeoutMs, ...(this.signal ? { signal: this.signal } : {}) });
      const challenge = res.headers['www-authenticate'];
      if (res.status !== 401 || attempt > 0 || typeof challenge !== 'string' || !/^bearer /i.test(challenge)) return res;
      res.body.resume();
      this.#token = await this.#fetchToken(challenge);
    }
    throw new TalosError(Code.Internal, 'unreachable');
  }

  async #fetchToken(challenge: string): Promise<string> {
    const params = Object.fromEntries([...challenge.slice(7).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    if (!params['realm']) throw new TalosError(Code.PermissionDenied, `registry ${this.base}: authentication challenge without a realm`);
    const u = new URL(params['realm']);
    if (params['service']) u.searchParams.set('service', params['service']);
    u.searchParams.set('scope', `repository:${this.name}:${this.scope}`);
    const res = await request(u, { method: 'GET', timeoutMs: this.timeoutMs, ...(this.signal ? { signal: this.signal } : {}) });
    if (res.status !== 200) throw new TalosError(Code.PermissionDenied, `registry ${this.base}: token for ${this.name}: HTTP ${res.status} ${await registryError(res)}`);
    const doc = JSON.parse((await readBody(res)).toString('utf8')) as { token?: string; access_token?: string };
    const token = doc.token ?? doc.access_token;
    if (!token) throw new TalosError(Code.PermissionDenied, `registry ${this.base}: token answer holds no token`);
    return token;
  }
}

/** Tries each endpoint in turn while it is unreachable; any other answer (even NotFound) is final. */
async function onEndpoints<T>(ref: ImageReference, options: RegistryOptions, scope: 'pull' | 'pull,push', fn: (repo: Repository) => Promise<T>): Promise<T> {
  let last: unknown;
  for (const base of registryEndpoints(ref.registry, options.mirrors)) {
    try {
      return await fn(new Repository(base, ref.repository, scope, options.timeoutMs ?? 30_000, options.signal));
    } catch (err) {
      if (!(err instanceof TalosError) || err.code !== Code.Unavailable) throw err;
      last = err;
    }
  }
  throw last;
}

/**
 * Why a registry answered 404 for a reference: distribution says MANIFEST_UNKNOWN whether the tag or
 * the whole repository is missing, so the repository's tag list tells the two apart (and names a few
 * tags that do exist, the likely typo's neighbours).
 */
async function whyNotFound(repo: Repository, which: string, manifestError: string): Promise<string> {
  const what = `manifest ${which}: HTTP 404${manifestError ? ` ${manifestError}` : ''}`;
  let res: Response;
  try {
    res = await repo.send('GET', repo.url('tags/list?n=100'));
  } catch {
    return what;
  }
  if (res.status === 404) return `repository ${repo.name} does not exist on ${new URL(repo.base).host} (HTTP 404 ${await registryError(res)})`.trim();
  if (res.status !== 200) {
    res.body.resume();
    return what;
  }
  let tags: string[] = [];
  try {
    tags = (JSON.parse((await readBody(res, 1 << 20)).toString('utf8')) as { tags?: string[] | null }).tags ?? [];
  } catch {
    return what;
  }
  tags = [...tags].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const shown = tags.slice(0, 10).join(', ');
  return `${what}; repository ${repo.name} has ${tags.length === 0 ? 'no tags' : `tags ${shown}${tags.length > 10 ? ', …' : ''}`}`;
}

const sha256Hex = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** An image as pulled: its manifest and the verified blobs, in a directory. */
export interface PulledImage {
  readonly reference: string;
  /** `sha256:…` of the image manifest (not of an index that led to it). */
  readonly manifestDigest: string;
  readonly manifest: ImageManifestDoc;
  /** The manifest's media type and the file holding its exact bytes (what its digest is of). */
  readonly manifestMediaType: string;
  readonly manifestPath: string;
  /** Each layer's descriptor and the file holding its (digest-checked) bytes. */
  readonly layers: ReadonlyArray<{ readonly descriptor: Descriptor; readonly path: string }>;
  readonly configPath: string;
}

/** Options of {@link pullImage}. */
export interface PullOptions extends RegistryOptions {
  /** Where blobs go (`blobs/sha256/<hex>`); created if missing. */
  readonly dir: string;
  /** The platform picked from an index (default linux/amd64). */
  readonly platform?: { readonly os: string; readonly architecture: string };
}

/**
 * Pulls an image over the OCI distribution API: resolves the reference to a manifest (through an
 * index for the platform), then downloads the config and every layer, checking each one's size and
 * SHA-256 against its descriptor while it streams; a blob that does not match is deleted and the
 * pull fails with DataLoss. Registry down: Unavailable; unknown repository, tag or digest: NotFound.
 */
export async function pullImage(reference: string | ImageReference, options: PullOptions): Promise<PulledImage> {
  const ref = typeof reference === 'string' ? parseImageReference(reference) : reference;
  const name = formatImageReference(ref);
  const platform = options.platform ?? { os: 'linux', architecture: 'amd64' };
  return pullFrom(ref, name, platform, options).catch((err: unknown) => {
    // The network error names a host and a URL path; the caller wants to know which image failed.
    if (err instanceof TalosError && err.code === Code.Unavailable && !err.message.startsWith(`${name}:`)) {
      throw new TalosError(Code.Unavailable, `${name}: registry unreachable: ${err.message}`, { cause: err });
    }
    throw err;
  });
}

async function pullFrom(ref: ImageReference, name: string, platform: { readonly os: string; readonly architecture: string }, options: PullOptions): Promise<PulledImage> {
  return onEndpoints(ref, options, 'pull', async (repo) => {
    const getManifest = async (which: string, want?: string): Promise<{ doc: ImageManifestDoc & ImageIndexDoc; mediaType: string; digest: string; bytes: Buffer }> => {
      const res = await repo.send('GET', repo.url(`manifests/${which}`), { headers: { accept: ACCEPT } });
      if (res.status === 404 && want === undefined) throw new TalosError(Code.NotFound, `${name}: ${await whyNotFound(repo, which, await registryError(res))}`);
      if (res.status !== 200) throw new TalosError(codeForStatus(res.status), `${name}: manifest ${which}: HTTP ${res.status} ${await registryError(res)}`.trim());
      const bytes = await readBody(res);
      const digest = `sha256:${sha256Hex(bytes)}`;
      if (want !== undefined && digest !== want) throw new TalosError(Code.DataLoss, `${name}: manifest has digest ${digest}, want ${want}`);
      let doc: ImageManifestDoc & ImageIndexDoc;
      try {
        doc = JSON.parse(bytes.toString('utf8')) as ImageManifestDoc & ImageIndexDoc;
      } catch {
        throw new TalosError(Code.DataLoss, `${name}: manifest ${which} is not JSON`);
      }
      const mediaType = doc.mediaType ?? String(res.headers['content-type'] ?? '').split(';')[0]!.trim();
      return { doc, mediaType, digest, bytes };
    };
    let m = await getManifest(manifestReference(ref), ref.digest);
    if (isIndex(m.mediaType) || (m.doc.manifests && !m.doc.layers)) {
      const pick = m.doc.manifests.find((d) => d.platform?.os === platform.os && d.platform.architecture === platform.architecture);
      if (!pick) throw new TalosError(Code.NotFound, `${name}: no manifest for ${platform.os}/${platform.architecture}`);
      m = await getManifest(pick.digest, pick.digest);
    }
    if (!m.doc.config || !Array.isArray(m.doc.layers)) throw new TalosError(Code.DataLoss, `${name}: manifest has no config or layers`);
    const blobDir = join(options.dir, 'blobs', 'sha256');
    mkdirSync(blobDir, { recursive: true });
    const fetchBlob = async (d: Descriptor): Promise<string> => {
      const m2 = /^sha256:([a-f0-9]{64})$/.exec(d.digest);
      if (!m2) throw new TalosError(Code.DataLoss, `${name}: blob digest ${JSON.stringify(d.digest)} is not sha256`);
      const path = join(blobDir, m2[1]!);
      const res = await repo.send('GET', repo.url(`blobs/${d.digest}`));
      if (res.status !== 200) throw new TalosError(codeForStatus(res.status), `${name}: blob ${d.digest}: HTTP ${res.status} ${await registryError(res)}`.trim());
      const hash = createHash('sha256');
      let n = 0;
      const tmp = `${path}.part`;
      const count = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          n += chunk.length;
          if (n > d.size) return cb(new TalosError(Code.DataLoss, `${name}: blob ${d.digest} is longer than its ${d.size} bytes`));
          hash.update(chunk);
          cb(null, chunk);
        },
      });
      try {
        await (options.signal ? pipeline(res.body, count, createWriteStream(tmp), { signal: options.signal }) : pipeline(res.body, count, createWriteStream(tmp)));
        const got = `sha256:${hash.digest('hex')}`;
        if (n !== d.size || got !== d.digest) throw new TalosError(Code.DataLoss, `${name}: blob ${d.digest} arrived as ${got} (${n} of ${d.size} bytes): corrupt in the registry or in transit`);
        renameSync(tmp, path);
      } catch (err) {
        rmSync(tmp, { force: true });
        if (err instanceof TalosError || options.signal?.aborted) throw err;
        throw new TalosError(Code.Unavailable, `${name}: blob ${d.digest}: ${(err as Error).message}`, { cause: err });
      }
      return path;
    };
    const configPath = await fetchBlob(m.doc.config);
    const layers: Array<{ descriptor: Descriptor; path: string }> = [];
    for (const l of m.doc.layers) layers.push({ descriptor: l, path: await fetchBlob(l) });
    const manifestPath = join(blobDir, m.digest.slice('sha256:'.length));
    writeFileSync(manifestPath, m.bytes);
    return { reference: name, manifestDigest: m.digest, manifest: m.doc, manifestMediaType: m.mediaType, manifestPath, layers, configPath };
  });
}

/** What {@link pushImageLayout} uploaded. */
export interface PushResult {
  readonly reference: string;
  readonly manifestDigest: string;
  /** Blobs sent, and blobs the registry already had. */
  readonly uploaded: number;
  readonly skipped: number;
}

/**
 * Pushes the image of an OCI image layout directory (oci-layout, index.json, blobs/sha256/) to a
 * registry: every blob the registry lacks (a monolithic upload each, checked by the registry
 * against its digest), then the manifest under the reference's tag (or digest).
 */
export async function pushImageLayout(layoutDir: string, reference: string | ImageReference, options: RegistryOptions = {}): Promise<PushResult> {
  const ref = typeof reference === 'string' ? parseImageReference(reference) : reference;
  const name = formatImageReference(ref);
  const blobPath = (digest: string): string => join(layoutDir, 'blobs', ...digest.split(':'));
  let index: ImageIndexDoc;
  try {
    index = JSON.parse(readFileSync(join(layoutDir, 'index.json'), 'utf8')) as ImageIndexDoc;
  } catch (err) {
    throw new TalosError(Code.InvalidArgument, `${layoutDir}: not an OCI image layout: ${(err as Error).message}`, { cause: err });
  }
  const top = index.manifests?.[0];
  if (!top || index.manifests.length !== 1) throw new TalosError(Code.InvalidArgument, `${layoutDir}: index.json must list exactly one manifest (it lists ${index.manifests?.length ?? 0})`);
  const manifestBytes = readFileSync(blobPath(top.digest));
  if (`sha256:${sha256Hex(manifestBytes)}` !== top.digest) throw new TalosError(Code.DataLoss, `${layoutDir}: manifest blob does not match its digest ${top.digest}`);
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as ImageManifestDoc;
  return onEndpoints(ref, options, 'pull,push', async (repo) => {
    let uploaded = 0;
    let skipped = 0;
    for (const d of [manifest.config, ...manifest.layers]) {
      const head = await repo.send('HEAD', repo.url(`blobs/${d.digest}`));
      head.body.resume();
      if (head.status === 200) {
        skipped++;
        continue;
      }
      const start = await repo.send('POST', repo.url('blobs/uploads/'));
      start.body.resume();
      const location = start.headers.location;
      if (start.status !== 202 || !location) throw new TalosError(codeForStatus(start.status), `${name}: starting an upload: HTTP ${start.status}`);
      const put = new URL(location, repo.url(''));
      put.searchParams.set('digest', d.digest);
      const res = await repo.send('PUT', put, { headers: { 'content-type': 'application/octet-stream' }, bodyFile: blobPath(d.digest) });
      if (res.status !== 201) throw new TalosError(res.status === 400 ? Code.DataLoss : codeForStatus(res.status), `${name}: blob ${d.digest}: HTTP ${res.status} ${await registryError(res)}`.trim());
      res.body.resume();
      uploaded++;
    }
    const res = await repo.send('PUT', repo.url(`manifests/${manifestReference(ref)}`), { headers: { 'content-type': top.mediaType }, body: manifestBytes });
    if (res.status !== 201) throw new TalosError(codeForStatus(res.status), `${name}: manifest: HTTP ${res.status} ${await registryError(res)}`.trim());
    res.body.resume();
    const digest = res.headers['docker-content-digest'];
    if (typeof digest === 'string' && digest !== top.digest) throw new TalosError(Code.DataLoss, `${name}: registry stored the manifest as ${digest}, want ${top.digest}`);
    return { reference: name, manifestDigest: top.digest, uploaded, skipped };
  });
}
