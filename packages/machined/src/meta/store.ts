import { Code, TalosError, type Logger, type State } from '@talos-ts/cosi';
import { decodeAdv, encodeAdv, MetaKeyType, metaKeyId, MetaValues, NamespaceName, type MetaKeySpec } from '@talos-ts/machinery';
import type { MetaDevice } from '../linux/meta-partition.ts';

/**
 * META as machined holds it: the key/values read from the META partition at start, changed in
 * memory and written back (both copies) on every change. Without a partition (a live boot) the
 * values live in memory only, as upstream's META before an install. Each change is mirrored as
 * MetaKey resources into the state given by {@link MetaStore.publishTo}.
 */
export class MetaStore {
  readonly #device: MetaDevice | undefined;
  readonly #logger: Logger;
  #values = new MetaValues();
  #loaded = false;
  #state: State | undefined;

  constructor(options: { device?: MetaDevice; logger: Logger }) {
    this.#device = options.device;
    this.#logger = options.logger.child({ component: 'meta' });
  }

  /** True when the values are kept on a partition (they survive a reboot). */
  get persistent(): boolean {
    return this.#device !== undefined;
  }

  /** Reads the partition once; a copy that fails its checks is logged and the other one used. */
  load(): void {
    if (this.#loaded) return;
    this.#loaded = true;
    if (!this.#device) return;
    const d = decodeAdv(this.#device.read());
    if (d.rejected.length > 0 && d.source !== 'none') this.#logger.warn('META: a copy was rejected', { device: this.#device.name, rejected: d.rejected });
    this.#values = d.values;
    this.#logger.info('META: loaded', { device: this.#device.name, keys: d.values.tags().length, source: d.source });
  }

  /** The text of a key, or undefined. */
  read(tag: number): string | undefined {
    this.load();
    return this.#values.getText(tag);
  }

  /** Every key, ascending. */
  tags(): number[] {
    this.load();
    return this.#values.tags();
  }

  /**
   * Sets a key and writes META out; ResourceExhausted when the values would no longer fit, as
   * upstream's "meta write failed" (nothing changes then).
   */
  write(tag: number, value: Uint8Array | string): void {
    this.load();
    const next = this.#values.clone();
    if (!next.set(tag, value)) throw new TalosError(Code.ResourceExhausted, 'meta write failed');
    this.#commit(next);
  }

  /** Deletes a key and writes META out; NotFound when it was not there (upstream's "meta key not found"). */
  delete(tag: number): void {
    this.load();
    const next = this.#values.clone();
    if (!next.delete(tag)) throw new TalosError(Code.NotFound, 'meta key not found');
    this.#commit(next);
  }

  /** Deletes keys that may be absent, writing META once (e.g. the staged upgrade's tags once used). */
  clear(tags: readonly number[]): void {
    this.load();
    const next = this.#values.clone();
    let changed = false;
    for (const t of tags) changed = next.delete(t) || changed;
    if (changed) this.#commit(next);
  }

  /** Mirrors the keys as MetaKey resources into `state` (a new boot cycle's) from now on. */
  publishTo(state: State | undefined): void {
    this.load();
    this.#state = state;
    this.#publish();
  }

  #commit(next: MetaValues): void {
    // Written before it is believed: a failed write leaves memory as the disk is.
    this.#device?.write(encodeAdv(next));
    this.#values = next;
    this.#publish();
  }

  #publish(): void {
    const st = this.#state;
    if (!st) return;
    const seen = new Set<string>();
    for (const tag of this.#values.tags()) {
      const id = metaKeyId(tag);
      seen.add(id);
      const value = this.#values.getText(tag) ?? '';
      st.modify<MetaKeySpec>({ namespace: NamespaceName.runtime, type: MetaKeyType, id }, (d) => {
        d.spec = { value };
      }, { initial: { value } });
    }
    for (const r of st.list({ namespace: NamespaceName.runtime, type: MetaKeyType })) {
      if (!seen.has(r.metadata.id)) st.destroy(r.metadata);
    }
  }
}
