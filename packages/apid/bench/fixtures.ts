// Shared by apid's tests and benchmark: a PKI made with machinery's helpers, a real gRPC
// "machined" backend on a unix socket that echoes what apid told it, and mTLS clients.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { Client, Metadata, credentials, status } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import type { DescService } from '@bufbuild/protobuf';
import {
  cosiStatePb,
  createH2Server,
  createSelfSignedCa,
  generateKey,
  inspectPb,
  issueCertificate,
  machinePb,
  metadataStrings,
  privateKeyToPem,
  registerService,
  timePb,
} from '@talos-ts/machinery';
import type { CallContext, CertificateAuthority, ExtKeyUsage, GrpcMetadata } from '@talos-ts/machinery';
import { createApid, defaultNodeAddress } from '@talos-ts/apid';
import type { Apid, ApidOptions } from '@talos-ts/apid';

/** A certificate and its key, PEM. */
export interface Pair {
  readonly crt: string;
  readonly key: string;
}

/** Creates a CA (ECDSA: fast to make, fine for TLS 1.3). */
export async function makeCa(name: string): Promise<CertificateAuthority> {
  const key = await generateKey('ecdsa');
  const now = Date.now();
  return createSelfSignedCa({ key, subject: { commonName: name, organizations: ['talos'] }, notBefore: new Date(now - 60_000), notAfter: new Date(now + 86_400_000) });
}

/** Issues a leaf: server certs carry IP SANs, client certs carry roles as Organization. */
export async function issue(
  ca: CertificateAuthority,
  opts: { readonly cn: string; readonly ips?: readonly string[]; readonly roles?: readonly string[]; readonly usage: readonly ExtKeyUsage[] },
): Promise<Pair> {
  const key = await generateKey('ecdsa');
  const now = Date.now();
  const crt = issueCertificate(ca, {
    publicKey: key.publicKey,
    subject: { commonName: opts.cn, ...(opts.roles ? { organizations: opts.roles } : {}) },
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 86_400_000),
    keyUsage: ['digitalSignature'],
    extKeyUsage: opts.usage,
    ipAddresses: opts.ips ?? [],
    dnsNames: opts.ips ? ['localhost'] : [],
  });
  return { crt, key: privateKeyToPem(key) };
}

/** Writes a file the way machined does: NAME.tmp, then rename. */
export function writeAtomic(path: string, data: string): void {
  writeFileSync(`${path}.tmp`, data, { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}

/** Writes an apid certificates directory. */
export function writeCertsDir(dir: string, ca: CertificateAuthority, server: Pair, client?: Pair): void {
  mkdirSync(dir, { recursive: true });
  writeAtomic(join(dir, 'ca.crt'), ca.crtPem);
  writeAtomic(join(dir, 'server.crt'), server.crt);
  writeAtomic(join(dir, 'server.key'), server.key);
  if (client) {
    writeAtomic(join(dir, 'client.crt'), client.crt);
    writeAtomic(join(dir, 'client.key'), client.key);
  }
}

/** What a backend saw. */
export interface BackendLog {
  calls: { method: string; role: string; proxyfrom: string }[];
  /** Streams that ended because the caller went away or its deadline passed. */
  cancelledStreams: number;
}

/** A stand-in for machined: a real gRPC server on a unix socket. */
export interface Backend extends AsyncDisposable {
  readonly name: string;
  readonly socket: string;
  readonly log: BackendLog;
  stop(): Promise<void>;
}

function first(md: GrpcMetadata, key: string): string {
  return metadataStrings(md, key).join(',');
}

function defaults(svc: DescService): Record<string, unknown> {
  const impl: Record<string, unknown> = {};
  for (const m of svc.methods) {
    switch (m.methodKind) {
      case 'unary':
        impl[m.localName] = () => ({});
        break;
      case 'server_streaming':
        impl[m.localName] = async function* () {};
        break;
      case 'client_streaming':
        impl[m.localName] = async (reqs: AsyncIterable<unknown>) => {
          for await (const _ of reqs);
          return {};
        };
        break;
      case 'bidi_streaming':
        impl[m.localName] = async function* (reqs: AsyncIterable<unknown>) {
          for await (const _ of reqs) yield {};
        };
        break;
    }
  }
  return impl;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/**
 * Starts a backend serving MachineService (Version, Memory, Events, EtcdSnapshot answer; the rest
 * reply empty), cosi State, inspect and time. Version's tag echoes the `talos-role` and
 * `proxyfrom` it received; its sha is the backend's name.
 */
export async function startBackend(dir: string, name: string): Promise<Backend> {
  const socket = join(dir, `${name}.sock`);
  const log: BackendLog = { calls: [], cancelledStreams: 0 };
  const seen = (ctx: CallContext): { role: string; proxyfrom: string } => {
    const r = { role: first(ctx.metadata, 'talos-role'), proxyfrom: first(ctx.metadata, 'proxyfrom') };
    log.calls.push({ method: ctx.method.name, ...r });
    return r;
  };
  const machine = {
    ...defaults(machinePb.MachineService),
    version: (_req: unknown, ctx: CallContext) => {
      const r = seen(ctx);
      return { messages: [{ version: { tag: `role=${r.role};proxyfrom=${r.proxyfrom}`, sha: name, arch: 'amd64' } }] };
    },
    memory: (_req: unknown, ctx: CallContext) => {
      seen(ctx);
      return { messages: [{ meminfo: { memtotal: 1024n, memfree: 512n } }] };
    },
    events: async function* (req: { tailEvents: number; withActorId: string }, ctx: CallContext) {
      seen(ctx);
      for (let i = 0; i < req.tailEvents; i++) yield { id: `${name}-${i}`, actorId: name };
      if (req.withActorId !== 'forever') return;
      try {
        for (let i = req.tailEvents; !ctx.signal.aborted; i++) {
          yield { id: `${name}-${i}`, actorId: name };
          await sleep(10, ctx.signal);
        }
      } finally {
        if (ctx.signal.reason instanceof Error && /cancelled by the client|deadline exceeded/.test(ctx.signal.reason.message)) log.cancelledStreams++;
      }
    },
    etcdSnapshot: async function* (_req: unknown, ctx: CallContext) {
      seen(ctx);
      yield { bytes: Buffer.from('snapshot') };
    },
  };
  const server = createH2Server();
  const add = (svc: DescService, impl: Record<string, unknown>): void => registerService(server, svc, impl as never);
  add(machinePb.MachineService, machine);
  add(cosiStatePb.State, defaults(cosiStatePb.State));
  add(inspectPb.InspectService, defaults(inspectPb.InspectService));
  add(timePb.TimeService, defaults(timePb.TimeService));
  await server.listen(`unix:${socket}`);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await server.close(0);
  };
  return { name, socket, log, stop, [Symbol.asyncDispose]: stop };
}

/**
 * A raw-bytes mTLS client of an apid, on grpc-js so that apid is tested against a gRPC
 * implementation other than ours; `material` without cert/key connects without a client certificate.
 */
export function rawClient(address: string, material: { caPem: string; certPem?: string; keyPem?: string }): Client {
  const host = address.slice(0, address.lastIndexOf(':')).replace(/^\[|\]$/g, '');
  const creds = credentials.createSsl(
    Buffer.from(material.caPem),
    material.keyPem === undefined ? null : Buffer.from(material.keyPem),
    material.certPem === undefined ? null : Buffer.from(material.certPem),
    { checkServerIdentity: (_name: string, cert: PeerCertificate) => checkServerIdentity(host, cert) },
  );
  // Node refuses an IP address as TLS server name: a neutral name goes in SNI instead.
  return new Client(address, creds, { 'grpc.ssl_target_name_override': 'talos-ip-target' });
}

/** Outcome of a raw call: OK with the reply messages, or the gRPC error. */
export type Outcome = { readonly ok: true; readonly messages: Buffer[] } | { readonly ok: false; readonly code: number; readonly details: string };

const id = (b: Buffer): Buffer => b;

/** Metadata from a plain record. */
export function md(values: Readonly<Record<string, string>> = {}): Metadata {
  const m = new Metadata();
  for (const [k, v] of Object.entries(values)) m.set(k, v);
  return m;
}

/** A unary call with raw request bytes. */
export function callUnary(client: Client, path: string, request: Buffer, meta: Metadata = md(), timeoutMs = 5000): Promise<Outcome> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(path, id, id, request, meta, { deadline: Date.now() + timeoutMs }, (err: ServiceError | null, res?: Buffer) => {
      if (err) resolve({ ok: false, code: err.code, details: err.details });
      else resolve({ ok: true, messages: [res ?? Buffer.alloc(0)] });
    });
  });
}

/** A server-streaming call with raw request bytes, collected to the end. */
export function callStream(client: Client, path: string, request: Buffer, meta: Metadata = md(), timeoutMs = 5000): Promise<Outcome> {
  return new Promise((resolve) => {
    const got: Buffer[] = [];
    const s = client.makeServerStreamRequest(path, id, id, request, meta, { deadline: Date.now() + timeoutMs });
    // Done when the status is OK and every message was read ('status' can come before the last 'data').
    let ok = false;
    let ended = false;
    s.on('data', (b: Buffer) => got.push(b));
    s.on('error', (err: ServiceError) => resolve({ ok: false, code: err.code, details: err.details }));
    s.on('status', (st: { code: number }) => {
      ok = st.code === status.OK;
      if (ok && ended) resolve({ ok: true, messages: got });
    });
    s.on('end', () => {
      ended = true;
      if (ok) resolve({ ok: true, messages: got });
    });
  });
}

/** A small cluster of apids, each with its own backend, on loopback addresses. */
export interface Cluster extends AsyncDisposable {
  readonly ca: CertificateAuthority;
  /** Address (host:port) of each node's apid by node name. */
  readonly addresses: Map<string, string>;
  readonly backends: Map<string, Backend>;
  readonly apids: Map<string, Apid>;
  /** Client certificates by role set name ('os:admin', 'os:reader', ...). */
  client(roles: readonly string[]): Promise<Pair>;
}

/** Starts one apid per node (name → loopback IP), each proxying to its own backend; `apidOptions` go to every apid. */
export async function startCluster(dir: string, nodes: Readonly<Record<string, string>>, apidOptions: Partial<ApidOptions> = {}): Promise<Cluster> {
  const ca = await makeCa('os-ca');
  const impersonator = await issue(ca, { cn: 'apid', roles: ['os:impersonator'], usage: ['clientAuth'] });
  const addresses = new Map<string, string>();
  const backends = new Map<string, Backend>();
  const apids = new Map<string, Apid>();
  for (const [name, ip] of Object.entries(nodes)) {
    const certs = join(dir, name, 'certs');
    const server = await issue(ca, { cn: name, ips: [ip], usage: ['serverAuth'] });
    writeCertsDir(certs, ca, server, impersonator);
    const backend = await startBackend(join(dir, name), name);
    backends.set(name, backend);
    const apid = createApid({
      listen: `${ip}:0`,
      machinedSocket: backend.socket,
      certsDir: certs,
      node: name,
      resolveNode: (n) => addresses.get(n) ?? defaultNodeAddress(n, 50000),
      certPollMs: 200,
      ...apidOptions,
    });
    apids.set(name, apid);
    addresses.set(name, await apid.listen());
  }
  const dispose = async (): Promise<void> => {
    for (const a of apids.values()) await a.close(100);
    for (const b of backends.values()) await b.stop();
  };
  return {
    ca,
    addresses,
    backends,
    apids,
    client: (roles) => issue(ca, { cn: 'talosctl', roles, usage: ['clientAuth'] }),
    [Symbol.asyncDispose]: dispose,
  };
}
