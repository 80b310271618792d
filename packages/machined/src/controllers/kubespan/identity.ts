import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Controller, ControllerContext } from '@talos-ts/cosi';
import {
  FirstHardwareAddrId,
  HardwareAddrType,
  KubeSpanConfigId,
  KubeSpanConfigType,
  KubeSpanIdentityType,
  KubeSpanLocalIdentityId,
  NamespaceName,
  type HardwareAddrSpec,
  type KubeSpanConfigSpec,
  type KubeSpanIdentitySpec,
} from '@talos-ts/machinery';
import { parse, stringify } from 'yaml';
import { writeFileAtomic } from '../../system/atomic-file.ts';
import { kubeSpanAddress, parseMac } from './address.ts';
import { generateWireGuardKeyPair, parseWireGuardKey, wireGuardPublicKey, type WireGuardKeyPair } from './keys.ts';

// The HardwareAddr resource lives with the network resources; kept reachable from here for callers.
export { HardwareAddrType, FirstHardwareAddrId } from '@talos-ts/machinery';

/** Upstream's file name for the cached identity (constants.KubeSpanIdentityFilename). */
export const KUBESPAN_IDENTITY_FILENAME = 'kubespan-identity.yaml';

/** Options of {@link KubeSpanIdentityController}. */
export interface KubeSpanIdentityControllerOptions {
  /** The identity cache in STATE: `<state dir>/kubespan-identity.yaml`. */
  readonly path: string;
  readonly generate?: () => WireGuardKeyPair;
}

/**
 * The node's KubeSpan identity (upstream's kubespan.IdentityController): a WireGuard key pair made
 * once and cached in STATE, so peers keep knowing the node across reboots, and the mesh address
 * derived from the cluster id and the first MAC. It exists only while KubeSpan is enabled; the
 * cached key outlives a disable so re-enabling keeps the same key.
 */
export class KubeSpanIdentityController implements Controller {
  readonly name = 'kubespan.IdentityController';
  readonly inputs = [
    { namespace: NamespaceName.config, type: KubeSpanConfigType, id: KubeSpanConfigId, kind: 'weak' as const },
    { namespace: NamespaceName.network, type: HardwareAddrType, id: FirstHardwareAddrId, kind: 'weak' as const },
  ];
  readonly outputs = [{ type: KubeSpanIdentityType, kind: 'exclusive' as const }];
  readonly #options: KubeSpanIdentityControllerOptions;

  constructor(options: KubeSpanIdentityControllerOptions) {
    this.#options = options;
  }

  async run(ctx: ControllerContext): Promise<void> {
    const pointer = { namespace: NamespaceName.kubespan, type: KubeSpanIdentityType, id: KubeSpanLocalIdentityId };
    for await (const _ of ctx.changes()) {
      const cfg = ctx.find<KubeSpanConfigSpec>({ namespace: NamespaceName.config, type: KubeSpanConfigType, id: KubeSpanConfigId });
      const mac = ctx.find<HardwareAddrSpec>({ namespace: NamespaceName.network, type: HardwareAddrType, id: FirstHardwareAddrId });
      if (!cfg?.spec.enabled || !mac?.spec.hardwareAddr) {
        if (ctx.find(pointer)) ctx.destroy(pointer);
        continue;
      }
      if (!parseMac(mac.spec.hardwareAddr)) {
        // Retrying cannot fix the MAC: wait for the next change instead of failing the controller.
        ctx.logger.warn('cannot derive the KubeSpan address from the first MAC', { mac: mac.spec.hardwareAddr.slice(0, 64) });
        continue;
      }
      const keys = await this.#keys(ctx);
      const { address, subnet } = kubeSpanAddress(cfg.spec.clusterId, mac.spec.hardwareAddr);
      const spec: KubeSpanIdentitySpec = { address, subnet, privateKey: keys.privateKey, publicKey: keys.publicKey };
      ctx.modify<KubeSpanIdentitySpec>(pointer, spec, (d) => {
        d.spec = spec;
      });
    }
  }

  /** The cached key pair, or a new one written to the cache. */
  async #keys(ctx: ControllerContext): Promise<WireGuardKeyPair> {
    const { path } = this.#options;
    const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (text !== undefined) {
      const privateKey = (parse(text) as { privateKey?: unknown } | null)?.privateKey;
      if (typeof privateKey === 'string' && 'value' in parseWireGuardKey(privateKey)) return { privateKey, publicKey: wireGuardPublicKey(privateKey) };
      ctx.logger.warn('KubeSpan identity file has no usable private key; generating a new key', { path });
    }
    const keys = (this.#options.generate ?? generateWireGuardKeyPair)();
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await writeFileAtomic(path, stringify({ privateKey: keys.privateKey, publicKey: keys.publicKey }));
    ctx.logger.info('generated KubeSpan identity', { publicKey: keys.publicKey });
    return keys;
  }
}
