import { randomBytes } from 'node:crypto';
import { Code, TalosError } from '@talos-ts/cosi';
import {
  clientOn,
  containerdContentPb,
  containerdImagesPb,
  containerdLeasesPb,
  createH2Channel,
  type GrpcClient,
  type H2Channel,
} from '@talos-ts/machinery';

/** The request header that carries containerd's namespace on every call. */
const NAMESPACE_HEADER = 'containerd-namespace';
/** The request header naming the lease that protects what a call writes from garbage collection. */
const LEASE_HEADER = 'containerd-lease';
/** The lease label containerd's garbage collector reads as the lease's expiry (RFC 3339). */
const LEASE_EXPIRE_LABEL = 'containerd.io/gc.expire';
/** The largest piece of a blob sent in one Write message (containerd takes up to 16 MiB a message). */
const WRITE_CHUNK = 1 << 20;

const { WriteAction } = containerdContentPb;

/** Node's names of CPU architectures as OCI platforms (Go's GOARCH) spell them. */
const GO_ARCH: Readonly<Record<string, string>> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

/** An OCI descriptor: what an image record points at. */
export interface ContentDescriptor {
  readonly mediaType: string;
  /** `sha256:<hex>`. */
  readonly digest: string;
  readonly size: number;
}

/** A blob in the content store. */
export interface ContentInfo {
  readonly digest: string;
  readonly size: number;
  readonly labels: Readonly<Record<string, string>>;
}

/** An image record: a name (the full reference) and the manifest it points at. */
export interface ImageRecord {
  readonly name: string;
  readonly target: ContentDescriptor;
  readonly labels: Readonly<Record<string, string>>;
  readonly createdAt?: Date;
}

/** Options of {@link ContainerdContent}. */
export interface ContainerdContentOptions {
  /** containerd's gRPC socket path. */
  readonly socket: string;
  readonly namespace: string;
  /** Deadline of the short calls (default 10 s); blob reads and writes have none but their signal. */
  readonly timeoutMs?: number;
}

/** Per-call options: a lease protects what the call writes until the lease is deleted. */
export interface ContentCallOptions {
  readonly lease?: string;
  readonly signal?: AbortSignal;
}

/** Options of {@link ContainerdContent.writeBlob}. */
export interface WriteBlobOptions extends ContentCallOptions {
  /** Labels the blob gets (set on an existing blob too). */
  readonly labels?: Readonly<Record<string, string>>;
}

/** Whether {@link ContainerdContent.writeBlob} stored the bytes or found the blob already there. */
export type WriteBlobResult = 'written' | 'exists';

/**
 * containerd's content store, image records and leases over its unix socket, in one namespace:
 * what a client-side pull needs (containerd 1.6 has no server-side pull; its own `ctr pull`
 * writes blobs through these same services).
 */
export class ContainerdContent implements Disposable {
  readonly namespace: string;
  readonly #channel: H2Channel;
  readonly #content: GrpcClient<typeof containerdContentPb.Content>;
  readonly #images: GrpcClient<typeof containerdImagesPb.Images>;
  readonly #leases: GrpcClient<typeof containerdLeasesPb.Leases>;
  readonly #timeoutMs: number;

  constructor(options: ContainerdContentOptions) {
    if (options.namespace === '') throw new TalosError(Code.InvalidArgument, "namespace can't be empty");
    this.namespace = options.namespace;
    this.#channel = createH2Channel(`unix:${options.socket}`);
    this.#content = clientOn(containerdContentPb.Content, this.#channel);
    this.#images = clientOn(containerdImagesPb.Images, this.#channel);
    this.#leases = clientOn(containerdLeasesPb.Leases, this.#channel);
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  #opts(o: ContentCallOptions = {}, long = false): { metadata: Record<string, string>; timeoutMs?: number; signal?: AbortSignal } {
    return {
      metadata: { [NAMESPACE_HEADER]: this.namespace, ...(o.lease ? { [LEASE_HEADER]: o.lease } : {}) },
      ...(long ? {} : { timeoutMs: this.#timeoutMs }),
      ...(o.signal ? { signal: o.signal } : {}),
    };
  }

  /**
   * Creates a lease that expires by itself after `expireMs` (default 1 h), so a pull that dies
   * half-way does not pin its blobs forever. Returns its id.
   */
  async createLease(options: { expireMs?: number; signal?: AbortSignal } = {}): Promise<string> {
    const id = `talos-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    const expire = new Date(Date.now() + (options.expireMs ?? 3_600_000)).toISOString();
    const r = await this.#leases.create({ id, labels: { [LEASE_EXPIRE_LABEL]: expire } }, this.#opts(options.signal ? { signal: options.signal } : {}));
    return r.lease?.id ?? id;
  }

  /**
   * Deletes a lease; what it alone kept is left to containerd's garbage collector, which runs
   * before this returns with `sync`.
   */
  async deleteLease(id: string, options: { sync?: boolean; signal?: AbortSignal } = {}): Promise<void> {
    await this.#leases.delete({ id, sync: options.sync === true }, this.#opts(options.signal ? { signal: options.signal } : {}));
  }

  /** The ids of the namespace's leases. */
  async listLeases(signal?: AbortSignal): Promise<string[]> {
    const r = await this.#leases.list({}, this.#opts(signal ? { signal } : {}));
    return r.leases.map((l) => l.id);
  }

  /** A blob's size and labels, or undefined when the store does not hold it. */
  async info(digest: string, o: ContentCallOptions = {}): Promise<ContentInfo | undefined> {
    try {
      const r = await this.#content.info({ digest }, this.#opts(o));
      return { digest: r.info?.digest ?? digest, size: Number(r.info?.size ?? 0n), labels: { ...(r.info?.labels ?? {}) } };
    } catch (err) {
      if (err instanceof TalosError && err.code === Code.NotFound) return undefined;
      throw err;
    }
  }

  /**
   * Writes a blob into the content store: the bytes stream in pieces, and containerd checks the
   * size and digest of what it got against `desc` when it commits (FailedPrecondition when they
   * differ; nothing is stored then). A blob the store already holds is not sent again ('exists';
   * its labels are still set). A stale ingest under the same ref is overwritten from offset 0.
   */
  async writeBlob(desc: ContentDescriptor, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: WriteBlobOptions = {}): Promise<WriteBlobResult> {
    const ref = `talos-${desc.digest}`;
    const labels = options.labels ?? {};
    // The data waits for STAT's answer: a blob that exists is refused there, before any byte moves.
    let opened!: (ok: boolean) => void;
    const statAnswered = new Promise<boolean>((r) => (opened = r));
    const requests = async function* () {
      yield { action: WriteAction.STAT, ref, total: BigInt(desc.size), expected: desc.digest };
      if (!(await statAnswered)) return;
      let offset = 0;
      for await (const chunk of source) {
        for (let at = 0; at < chunk.length; at += WRITE_CHUNK) {
          const data = chunk.subarray(at, at + WRITE_CHUNK);
          yield { action: WriteAction.WRITE, ref, offset: BigInt(offset), data };
          offset += data.length;
        }
      }
      yield { action: WriteAction.COMMIT, ref, offset: BigInt(offset), total: BigInt(desc.size), expected: desc.digest, labels };
    };
    let committed = false;
    try {
      for await (const reply of this.#content.write(requests(), this.#opts(options, true))) {
        if (reply.action === WriteAction.STAT) opened(true);
        if (reply.action === WriteAction.COMMIT) committed = true;
      }
    } catch (err) {
      opened(false);
      if (err instanceof TalosError && err.code === Code.AlreadyExists) {
        if (Object.keys(labels).length > 0) await this.setLabels(desc.digest, labels, options);
        return 'exists';
      }
      throw err;
    }
    opened(false);
    if (!committed) throw new TalosError(Code.Internal, `containerd content write of ${desc.digest}: the stream ended before the commit was answered`);
    return 'written';
  }

  /** Sets (adds or replaces) labels of a blob, leaving its other labels alone. */
  async setLabels(digest: string, labels: Readonly<Record<string, string>>, o: ContentCallOptions = {}): Promise<void> {
    const paths = Object.keys(labels).map((k) => `labels.${k}`);
    await this.#content.update({ info: { digest, labels: { ...labels } }, updateMask: { paths } }, this.#opts(o));
  }

  /** Reads a blob back as a stream of pieces; NotFound when the store does not hold it. */
  async *readBlob(digest: string, o: ContentCallOptions = {}): AsyncGenerator<Buffer> {
    for await (const r of this.#content.read({ digest }, this.#opts(o, true))) {
      if (r.data.length > 0) yield Buffer.from(r.data.buffer, r.data.byteOffset, r.data.length);
    }
  }

  /** Every blob of the namespace (digest, size, labels). */
  async listBlobs(signal?: AbortSignal): Promise<ContentInfo[]> {
    const out: ContentInfo[] = [];
    for await (const r of this.#content.list({}, this.#opts(signal ? { signal } : {}))) {
      for (const i of r.info) out.push({ digest: i.digest, size: Number(i.size), labels: { ...i.labels } });
    }
    return out;
  }

  /**
   * Creates the image record `name` pointing at `target`, or, when one by that name exists,
   * replaces its target and labels (as containerd's own pull does on a re-pull).
   */
  async putImage(name: string, target: ContentDescriptor, options: ContentCallOptions & { labels?: Readonly<Record<string, string>> } = {}): Promise<ImageRecord> {
    const image = { name, labels: { ...(options.labels ?? {}) }, target: { mediaType: target.mediaType, digest: target.digest, size: BigInt(target.size) } };
    try {
      const r = await this.#images.create({ image }, this.#opts(options));
      return toImage(r.image, name);
    } catch (err) {
      if (!(err instanceof TalosError && err.code === Code.AlreadyExists)) throw err;
    }
    const r = await this.#images.update({ image }, this.#opts(options));
    return toImage(r.image, name);
  }

  /** The image record `name`, or undefined when there is none. */
  async getImage(name: string, signal?: AbortSignal): Promise<ImageRecord | undefined> {
    try {
      const r = await this.#images.get({ name }, this.#opts(signal ? { signal } : {}));
      return toImage(r.image, name);
    } catch (err) {
      if (err instanceof TalosError && err.code === Code.NotFound) return undefined;
      throw err;
    }
  }

  /** Every image record of the namespace, optionally filtered (containerd's filter syntax). */
  async listImages(filters: readonly string[] = [], signal?: AbortSignal): Promise<ImageRecord[]> {
    const r = await this.#images.list({ filters: [...filters] }, this.#opts(signal ? { signal } : {}));
    return r.images.map((i) => toImage(i, i.name));
  }

  /** Deletes the image record `name` (its blobs go at the next garbage collection). */
  async deleteImage(name: string, signal?: AbortSignal): Promise<void> {
    await this.#images.delete({ name }, this.#opts(signal ? { signal } : {}));
  }

  /**
   * What an image takes in the store, as containerd counts it: the target and every blob under it
   * for this host's platform (an index's matching manifests, their configs and layers). Throws
   * NotFound when a blob of the tree is missing.
   */
  async imageSize(target: ContentDescriptor, signal?: AbortSignal): Promise<number> {
    const arch = GO_ARCH[process.arch] ?? process.arch;
    const walk = async (d: ContentDescriptor, depth: number): Promise<number> => {
      if (depth > 4 || !/(manifest|image\.index)/.test(d.mediaType)) return d.size;
      const chunks: Buffer[] = [];
      for await (const c of this.readBlob(d.digest, signal ? { signal } : {})) chunks.push(c);
      const doc = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        config?: ContentDescriptor;
        layers?: ContentDescriptor[];
        manifests?: Array<ContentDescriptor & { platform?: { os?: string; architecture?: string } }>;
      };
      let total = d.size + (doc.config?.size ?? 0) + (doc.layers ?? []).reduce((n, l) => n + l.size, 0);
      for (const m of doc.manifests ?? []) {
        if (m.platform && (m.platform.os !== 'linux' || m.platform.architecture !== arch)) continue;
        total += await walk(m, depth + 1);
      }
      return total;
    };
    return walk(target, 0);
  }

  /** Closes the connection to containerd. */
  close(): void {
    this.#channel.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function toImage(i: containerdImagesPb.Image | undefined, name: string): ImageRecord {
  const t = i?.target;
  const created = i?.createdAt;
  return {
    name: i?.name ?? name,
    target: { mediaType: t?.mediaType ?? '', digest: t?.digest ?? '', size: Number(t?.size ?? 0n) },
    labels: { ...(i?.labels ?? {}) },
    ...(created ? { createdAt: new Date(Number(created.seconds) * 1000 + Math.floor(created.nanos / 1e6)) } : {}),
  };
}
