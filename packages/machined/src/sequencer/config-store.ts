import { createHash } from 'node:crypto';
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

// A staged config is sealed with a trailing comment holding the digest of what precedes it. The
// file is written atomically, so a torn one means damage outside our writes (a disk, an operator);
// a torn prefix of a config can still validate (every field after the cut optional), and only the
// seal tells it from the whole file.
const SEAL = '# talos-ts staged config sha256:';

function seal(yaml: string): string {
  const body = yaml.endsWith('\n') ? yaml : `${yaml}\n`;
  return `${body}${SEAL}${createHash('sha256').update(body).digest('hex')}\n`;
}

/** The sealed body, or why the file is not one whole staged config. */
function unseal(text: string): { body: string } | { problem: string } {
  const at = text.lastIndexOf(`\n${SEAL}`);
  if (at < 0) return { problem: 'the file has no seal: it is torn, or was not written by machined' };
  const body = text.slice(0, at + 1);
  const digest = text.slice(at + 1 + SEAL.length).trimEnd();
  if (digest !== createHash('sha256').update(body).digest('hex')) return { problem: 'the file does not match its seal: it is torn or was altered' };
  return { body };
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

  /** Stages a config for the next boot, sealed (see SEAL). Call inside {@link exclusive}. */
  async stage(yaml: string): Promise<void> {
    await writeFileAtomic(this.#paths.stagedConfig, seal(yaml));
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
    let body: string | undefined;
    if (typeof text !== 'string') problem = text.message;
    else if (text.trim() === '') problem = 'the file is empty';
    else {
      const sealed = unseal(text);
      if ('problem' in sealed) problem = sealed.problem;
      else {
        try {
          checkConfig(sealed.body, stagedConfig);
          body = sealed.body;
        } catch (err) {
          problem = (err as Error).message;
        }
      }
    }
    if (body !== undefined) {
      await writeFileAtomic(config, body);
      await rm(stagedConfig, { force: true });
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
