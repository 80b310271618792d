import type { Readable } from 'node:stream';
import { machinePb } from '@talos-ts/machinery';
import { diskUsage, openRegularFile, tarGz, walk, type WalkType } from '../linux/files.ts';
import type { PartialImplementation } from './implement.ts';

type Files = Pick<PartialImplementation<typeof machinePb.MachineService>, 'read' | 'list' | 'copy' | 'diskUsage'>;

const listTypes: Record<machinePb.ListRequest_Type, WalkType> = {
  [machinePb.ListRequest_Type.REGULAR]: 'regular',
  [machinePb.ListRequest_Type.DIRECTORY]: 'directory',
  [machinePb.ListRequest_Type.SYMLINK]: 'symlink',
};

async function* chunks(stream: Readable, signal: AbortSignal): AsyncGenerator<{ bytes: Uint8Array }> {
  const onAbort = (): void => void stream.destroy();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) yield { bytes: chunk };
  } finally {
    signal.removeEventListener('abort', onAbort);
    stream.destroy();
  }
}

/**
 * The file handlers of machine.MachineService: Read, List, Copy and DiskUsage over the node's
 * filesystem (in container mode the host's, which is that node's view as upstream's in Docker).
 * Everything streams: a huge file or tree is never held in memory, and a client that goes away
 * stops the walk.
 */
export function createFilesService(log?: { warn(msg: string, fields?: Record<string, unknown>): void }): Files {
  return {
    async *read(req, ctx) {
      yield* chunks(await openRegularFile(req.path), ctx.signal);
    },
    async *list(req, ctx) {
      // As upstream: without `recurse` only the root's children; with it, depth 0 means unlimited.
      const maxDepth = req.recurse ? (req.recursionDepth === 0 ? -1 : req.recursionDepth) : 0;
      const types = req.types.map((t) => listTypes[t]);
      for await (const fi of walk(req.root === '' ? '/' : req.root, { maxDepth, types, signal: ctx.signal })) {
        if (fi.error !== undefined || !fi.stats) {
          yield { name: fi.fullPath, relativeName: fi.relPath, error: fi.error ?? 'unreadable' };
          continue;
        }
        const st = fi.stats;
        yield {
          name: fi.fullPath,
          relativeName: fi.relPath,
          size: BigInt(st.size),
          mode: goFileMode(st.mode),
          modified: BigInt(Math.floor(st.mtimeMs / 1000)),
          isDir: st.isDirectory(),
          link: fi.link ?? '',
          uid: st.uid,
          gid: st.gid,
        };
      }
    },
    async *copy(req, ctx) {
      const stream = tarGz(req.rootPath, { signal: ctx.signal, onSkip: (path, error) => log?.warn('copy: skipped', { path, error }) });
      yield* chunks(stream, ctx.signal);
    },
    async *diskUsage(req, ctx) {
      for (const path of req.paths) {
        try {
          for await (const u of diskUsage(path, ctx.signal)) {
            if (u.error !== undefined) {
              yield { name: u.fullPath, relativeName: u.relPath, error: u.error };
              continue;
            }
            // Upstream's filters: depth, directories only unless `all`, then the size threshold.
            if (req.recursionDepth > 0 && u.depth >= req.recursionDepth) continue;
            if (!u.isDir && !req.all) continue;
            if (req.threshold > 0n && u.sizeBytes < req.threshold) continue;
            if (req.threshold < 0n && u.sizeBytes > -req.threshold) continue;
            yield { name: u.fullPath, relativeName: u.relPath, size: u.sizeBytes };
          }
        } catch (err) {
          if (ctx.signal.aborted) throw err;
          yield { name: path, relativeName: path, error: (err as Error).message };
        }
      }
    },
  };
}

/**
 * Go's os.FileMode bits, which FileInfo.mode carries on the wire (upstream sends Go's value):
 * permission bits stay, the type moves from S_IFMT to Go's high flag bits.
 */
export function goFileMode(mode: number): number {
  const perm = mode & 0o777;
  const type = mode & 0o170000;
  let go = perm;
  if (type === 0o040000) go |= 1 << 31; // ModeDir
  else if (type === 0o120000) go |= 1 << 27; // ModeSymlink
  else if (type === 0o060000) go |= 1 << 26; // ModeDevice
  else if (type === 0o020000) go |= (1 << 26) | (1 << 21); // ModeDevice | ModeCharDevice
  else if (type === 0o010000) go |= 1 << 25; // ModeNamedPipe
  else if (type === 0o140000) go |= 1 << 24; // ModeSocket
  if (mode & 0o4000) go |= 1 << 23; // ModeSetuid
  if (mode & 0o2000) go |= 1 << 22; // ModeSetgid
  if (mode & 0o1000) go |= 1 << 20; // ModeSticky
  return go >>> 0;
}
