import { createWriteStream } from 'node:fs';
import { mkdir, stat, symlink } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { Command } from 'commander';
import { extract } from 'tar-stream';
import { withApiClient } from '../../api.ts';
import { CliError, type CommandRegistrar } from '../../cli.ts';
import { requireOneNode } from '../etcd/etcd.ts';

/** Where an archive entry lands under `dest`, or undefined when its name would escape it. */
function inside(dest: string, name: string): string | undefined {
  const target = resolve(dest, name);
  const rel = relative(dest, target);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return undefined;
  return target;
}

/**
 * Unpacks a gzip-compressed tar stream into `dest`, as upstream talosctl does: files, directories
 * and symlinks, without the archive's owners and modes (the caller owns what it copied). Entries
 * whose names or link targets point outside `dest` are refused, so a node cannot write elsewhere
 * on the client.
 */
export async function extractTarGz(source: AsyncIterable<Uint8Array>, dest: string): Promise<number> {
  const root = resolve(dest);
  const untar = extract();
  let count = 0;
  untar.on('entry', (header, stream, next) => {
    void (async () => {
      const target = inside(root, header.name);
      if (!target) throw new CliError(`archive entry ${JSON.stringify(header.name)} points outside ${dest}`);
      if (header.type === 'directory') {
        await mkdir(target, { recursive: true });
        stream.resume();
      } else if (header.type === 'symlink') {
        const linkTarget = resolve(dirname(target), header.linkname ?? '');
        if (!inside(root, relative(root, linkTarget))) throw new CliError(`archive symlink ${header.name} -> ${header.linkname} points outside ${dest}`);
        await mkdir(dirname(target), { recursive: true });
        await symlink(header.linkname ?? '', target);
        stream.resume();
      } else if (header.type === 'file') {
        await mkdir(dirname(target), { recursive: true });
        await pipeline(stream, createWriteStream(target, { mode: 0o644 }));
      } else {
        stream.resume();
      }
      count++;
    })().then(
      () => next(),
      (err: unknown) => untar.destroy(err as Error),
    );
  });
  await pipeline(Readable.from(source), createGunzip(), untar);
  return count;
}

/** `talosctl copy <src-path> -|<local-path>` (alias `cp`): a file or directory of the node, as a tar stream. */
export const registerCopy: CommandRegistrar = (parent: Command) => {
  parent
    .command('copy')
    .alias('cp')
    .description('Copy data out from the node')
    .argument('<src-path>', 'absolute path on the node')
    .argument('<local-path>', "local directory to extract into (created if missing), or '-' for the .tar.gz on stdout")
    .action(async (src: string, local: string, _opts: unknown, cmd: Command) => {
      await withApiClient(cmd, async (s) => {
        requireOneNode(s.nodes, 'copy');
        const bytes = (async function* () {
          for await (const chunk of s.client.machine.copy({ rootPath: src }, { signal: s.signal })) {
            if (chunk.metadata?.error) throw new CliError(chunk.metadata.error);
            yield chunk.bytes;
          }
        })();
        if (local === '-') {
          // Binary output goes to the process' stdout as bytes (the CLI's text sink would re-encode it).
          for await (const chunk of bytes) if (!process.stdout.write(chunk)) await new Promise((r) => process.stdout.once('drain', r));
          return;
        }
        const st = await stat(local).catch(() => undefined);
        if (st && !st.isDirectory()) throw new CliError(`local path ${JSON.stringify(local)} should be a directory`);
        if (!st) await mkdir(local, { recursive: true });
        await extractTarGz(bytes, local);
      });
    });
};
