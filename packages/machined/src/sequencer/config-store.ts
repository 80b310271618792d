import { readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Code, TalosError, type Logger } from '@talos-ts/cosi';
import type { NodePaths } from '@talos-ts/machinery';
import { syncDirectory, writeFileAtomic } from '../system/atomic-file.ts';
import { lockStateDirectory, type StateLock } from '../system/state-lock.ts';
import { checkConfig, type CheckedConfig } from './apply.ts';

/** Options of {@link ConfigStore}. */
export interface ConfigStoreOptions {
  readonly paths: Pick<NodePaths, 'root' | 'config' | 'stagedConfig' | 'rejectedStagedConfig'>;
  readonly logger: Logger;
}

/** What the state directory holds at boot. */
export type StoredConfig =
  /** Nothing stored: a new machine, which waits in maintenance mode. */
  | { readonly kind: 'none' }
  | { readonly kind: 'valid'; readonly checked: CheckedConfig }
  /** A stored config that does not read or validate: the node must not boot it, nor open maintenance mode. */
  | { readonly kind: 'invalid'; readonly error: TalosError };

/**
 * The node's stored machine config: the applied `config.yaml` and the config staged for the next
 * boot, under the state directory's exclusive lock.
 *
 * Every write is atomic (see writeFileAtomic) and writers take turns ({@link exclusive}), so the file
 * on disk is always one whole config that some call validated and reported as applied. At boot a
 * staged config replaces the applied one only when it validates; a bad one is kept aside.
 */
export class ConfigStore implements Disposable {
  readonly #paths: ConfigStoreOptions['paths'];
  readonly #logger: Logger;
  #lock: StateLock | undefined;
  #turn: Promise<unknown> = Promise.resolve();

  constructor(options: ConfigStoreOptions) {
    this.#paths = options.paths;
    this.#logger = options.logger;
  }

  /**
   * Takes the state directory's lock (once; later calls keep it). Throws FailedPrecondition naming
   * the directory and the holder's PID when another machined has it.
   */
  lock(): void {
    this.#lock ??= lockStateDirectory(this.#paths.root);
  }

  /** Releases the lock. */
  release(): void {
    this.#lock?.release();
    this.#lock = undefined;
  }

  [Symbol.dispose](): void {
    this.release();
  }

  /**
   * Runs `fn` once every earlier writer's turn has ended: read current → validate → write → apply
   * is one step, so concurrent applies cannot interleave (nor leave a config whose call failed).
   */
  exclusive<T>(fn: () => Promise<T> | T): Promise<T> {
    const run = this.#turn.then(fn);
    this.#turn = run.catch(() => {});
    return run;
  }

  /**
   * Reads the stored config for a boot: promotes a staged config that validates, sets aside one
   * that does not, then loads and validates `config.yaml`. An empty, torn or invalid file is
   * `invalid`, never `none`: only a missing file means a new machine.
   */
  async load(): Promise<StoredConfig> {
    await this.#promoteStaged();
    const { config } = this.#paths;
    let text: string;
    try {
      text = await readFile(config, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'none' };
      return { kind: 'invalid', error: new TalosError(Code.DataLoss, `stored configuration ${config} cannot be read: ${(err as Error).message}`, { cause: err }) };
    }
    try {
      return { kind: 'valid', checked: checkConfig(text, config) };
    } catch (err) {
      const reason = text.trim() === '' ? 'the file is empty' : (err as Error).message;
      return { kind: 'invalid', error: new TalosError(Code.DataLoss, `stored configuration ${config} does not load: ${reason}`, { cause: err }) };
    }
  }

  /** Replaces the applied config. Call inside {@link exclusive}. */
  async write(yaml: string): Promise<void> {
    await writeFileAtomic(this.#paths.config, yaml);
  }

  /** Stages a config for the next boot. Call inside {@link exclusive}. */
  async stage(yaml: string): Promise<void> {
    await writeFileAtomic(this.#paths.stagedConfig, yaml);
  }

  /** Removes every stored config (reset). */
  async wipe(): Promise<void> {
    const { config, stagedConfig, rejectedStagedConfig } = this.#paths;
    for (const p of [config, stagedConfig, rejectedStagedConfig]) await rm(p, { force: true });
    await syncDirectory(dirname(config));
  }

  async #promoteStaged(): Promise<void> {
    const { config, stagedConfig, rejectedStagedConfig } = this.#paths;
    const text = await readFile(stagedConfig, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      return err;
    });
    if (text === undefined) return;
    let problem: string | undefined;
    if (typeof text !== 'string') problem = text.message;
    else {
      try {
        checkConfig(text, stagedConfig);
      } catch (err) {
        problem = text.trim() === '' ? 'the file is empty' : (err as Error).message;
      }
    }
    if (problem === undefined) {
      await rename(stagedConfig, config);
      await syncDirectory(dirname(config));
      this.#logger.info('applied staged configuration', { path: config });
      return;
    }
    await rm(rejectedStagedConfig, { recursive: true, force: true });
    await rename(stagedConfig, rejectedStagedConfig);
    await syncDirectory(dirname(config));
    this.#logger.error('staged configuration is invalid and was not applied; booting the current configuration', {
      staged: stagedConfig,
      keptAs: rejectedStagedConfig,
      reason: problem,
    });
  }
}
