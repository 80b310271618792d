import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Controller, ControllerContext } from '@talos-ts/cosi';
import { IdentityType, LocalIdentityId, NamespaceName, newIdentity, type IdentitySpec } from '@talos-ts/machinery';
import { parse, stringify } from 'yaml';
import { writeFileAtomic } from '../../system/atomic-file.ts';

const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A fresh node id: 32 random bytes in base62 (upstream's shape: ~43 alphanumeric characters). */
export function generateNodeId(): string {
  let n = BigInt(`0x${randomBytes(32).toString('hex')}`);
  let out = '';
  while (n > 0n) {
    out = alphabet[Number(n % 62n)] + out;
    n /= 62n;
  }
  return out.padStart(43, '0');
}

/** Options of {@link NodeIdentityController}. */
export interface NodeIdentityControllerOptions {
  /** The YAML file holding `nodeId` (paths.nodeIdentity). */
  readonly path: string;
  readonly generate?: () => string;
}

/**
 * The node's stable cluster identity: read from its file, or generated once and written there, so
 * it survives reboots and changes only when a reset wipes the file.
 */
export class NodeIdentityController implements Controller {
  readonly name = 'cluster.NodeIdentityController';
  readonly inputs = [];
  readonly outputs = [{ type: IdentityType, kind: 'exclusive' as const }];
  readonly #options: NodeIdentityControllerOptions;

  constructor(options: NodeIdentityControllerOptions) {
    this.#options = options;
  }

  async run(ctx: ControllerContext): Promise<void> {
    for await (const _ of ctx.changes()) {
      if (ctx.find({ namespace: NamespaceName.cluster, type: IdentityType, id: LocalIdentityId })) continue;
      const spec = await this.#load(ctx);
      ctx.modify<IdentitySpec>({ namespace: NamespaceName.cluster, type: IdentityType, id: LocalIdentityId }, spec, (d) => {
        d.spec = spec;
      });
    }
  }

  async #load(ctx: ControllerContext): Promise<IdentitySpec> {
    const { path } = this.#options;
    const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (text !== undefined) {
      const doc: unknown = parse(text);
      const nodeId = (doc as { nodeId?: unknown } | null)?.nodeId;
      if (typeof nodeId === 'string' && nodeId !== '') return { nodeId };
      ctx.logger.warn('node identity file has no nodeId; generating a new identity', { path });
    }
    const spec = newIdentity(LocalIdentityId, { nodeId: (this.#options.generate ?? generateNodeId)() }).spec;
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await writeFileAtomic(path, stringify(spec));
    ctx.logger.info('generated node identity', { nodeId: spec.nodeId });
    return spec;
  }
}
