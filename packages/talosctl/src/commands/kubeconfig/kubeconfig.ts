import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { gunzipSync } from 'node:zlib';
import type { Command } from 'commander';
import { withApiClient } from '../../api.ts';
import { CliError, type CliIo, type CommandRegistrar } from '../../cli.ts';
import { mergeKubeconfig, parseKubeconfig, serializeKubeconfig, type ConflictDecision, type KubeconfigComponent } from './merge.ts';

/**
 * The file `name` from a gzipped tar, as the node sends the kubeconfig. Read by hand: a walk over
 * 512-byte headers is all one regular file needs, and the CLI carries no tar library.
 */
export function extractFileFromTarGz(name: string, archive: Uint8Array): Buffer {
  let tar: Buffer;
  try {
    tar = gunzipSync(archive);
  } catch (err) {
    throw new CliError(`error extracting ${name}: not a gzip stream: ${(err as Error).message}`);
  }
  for (let offset = 0; offset + 512 <= tar.length; ) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const entry = header.toString('ascii', 0, 100).replace(/\0.*$/s, '');
    const size = parseInt(header.toString('ascii', 124, 136).replace(/\0.*$/s, '').trim() || '0', 8);
    const start = offset + 512;
    if (entry.replace(/^\.\//, '') === name) return Buffer.from(tar.subarray(start, start + size));
    offset = start + Math.ceil(size / 512) * 512;
  }
  throw new CliError(`error extracting ${name}: no such file in the archive`);
}

/** Where kubectl reads by default: the first KUBECONFIG entry, else ~/.kube/config (go-kubeconfig's SinglePath). */
function defaultKubeconfigPath(): string {
  const env = (process.env['KUBECONFIG'] ?? '').split(':').find((p) => p !== '');
  return env ?? join(homedir(), '.kube', 'config');
}

async function statOrUndefined(path: string) {
  try {
    return await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CliError(`error checking path ${JSON.stringify(path)}: ${(err as Error).message}`);
  }
}

/** Asks on the terminal whether to rename or overwrite, until one is chosen (upstream's prompt). */
async function askOverwriteOrRename(io: CliIo, prompt: string): Promise<ConflictDecision> {
  const rl = createInterface({ input: process.stdin, terminal: false });
  try {
    for (;;) {
      io.out(`${prompt} [(r)ename/(o)verwrite]: `);
      const answer = (await rl.question('')).trim().toLowerCase();
      if (answer === 'r' || answer === 'rename') return 'rename';
      if (answer === 'o' || answer === 'overwrite') return 'overwrite';
    }
  } finally {
    rl.close();
  }
}

/** Go-style `--flag=true|false`; anything else is refused so a path is never taken for the value. */
function boolValue(flag: string): (v: string) => boolean {
  return (v) => {
    if (v === 'true' || v === '1') return true;
    if (v === 'false' || v === '0') return false;
    throw new CliError(`invalid argument ${JSON.stringify(v)} for "${flag}" flag: use ${flag}=true or ${flag}=false`);
  };
}

interface Flags {
  force?: boolean;
  forceContextName?: string;
  merge: boolean;
}

/** `talosctl kubeconfig [local-path]`: fetches the admin kubeconfig from one node and merges or writes it. */
export const registerKubeconfig: CommandRegistrar = (parent: Command, io: CliIo) => {
  parent
    .command('kubeconfig')
    .argument('[local-path]')
    .description('Download the admin kubeconfig from the node')
    .addHelpText(
      'after',
      '\nWith --merge (the default) the config is merged into ~/.kube/config, or into [local-path] if given;\n' +
        'otherwise it is written to the current directory or [local-path]. With --merge=false and "-" as the path\n' +
        'it is written to stdout.\n',
    )
    .option('-f, --force', 'Force overwrite of kubeconfig if already present, force overwrite on kubeconfig merge')
    .option('--force-context-name <name>', 'Force context name for kubeconfig merge')
    .option('-m, --merge [bool]', 'Merge with existing kubeconfig (default true; --merge=false to write instead)', boolValue('--merge'), true)
    .action(async (localArg: string | undefined, flags: Flags, cmd: Command) => {
      let merge = flags.merge;
      let localPath = localArg ?? (merge ? defaultKubeconfigPath() : process.cwd());
      localPath = normalize(localPath);
      const toStdout = !merge && localPath === '-';
      if (!toStdout) {
        const st = await statOrUndefined(localPath);
        if (!st) await mkdir(dirname(localPath), { recursive: true, mode: 0o755 });
        else if (st.isDirectory()) localPath = join(localPath, 'kubeconfig');
        const exists = (await statOrUndefined(localPath)) !== undefined;
        if (exists && !flags.force && !merge) throw new CliError(`kubeconfig file already exists, use --force to overwrite: ${JSON.stringify(localPath)}`);
        // merging into nothing is writing
        if (!exists) merge = false;
      }
      const archive = await withApiClient(cmd, async (s) => {
        if (s.nodes.length !== 1) throw new CliError(`command "kubeconfig" requires exactly one node (got ${s.nodes.length})`);
        const chunks: Buffer[] = [];
        for await (const d of s.client.machine.kubeconfig({}, { signal: s.signal })) {
          if (d.metadata?.error) throw new CliError(d.metadata.error);
          chunks.push(Buffer.from(d.bytes));
        }
        return Buffer.concat(chunks);
      });
      const data = extractFileFromTarGz('kubeconfig', archive);
      if (toStdout) {
        io.out(data.toString('utf8'));
        return;
      }
      if (!merge) {
        await writeFile(localPath, data, { mode: 0o600 });
        return;
      }
      let into;
      try {
        into = parseKubeconfig(await readFile(localPath, 'utf8'), localPath);
      } catch (err) {
        throw new CliError(`error loading ${localPath}: ${(err as Error).message}`);
      }
      const interactive = process.stdout.isTTY === true && process.stdin.isTTY === true;
      await mergeKubeconfig(into, parseKubeconfig(data.toString('utf8'), 'the node reply'), {
        forceContextName: flags.forceContextName ?? '',
        report: (line) => io.out(`${line}\n`),
        onConflict: async (component: KubeconfigComponent, name: string) => {
          if (flags.force) return 'overwrite';
          if (!interactive) return 'rename';
          return askOverwriteOrRename(io, `${component} ${JSON.stringify(name)} already exists`);
        },
      });
      await writeFile(localPath, serializeKubeconfig(into), { mode: 0o600 });
    });
};
