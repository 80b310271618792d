import { Code, TalosError } from '@talos-ts/cosi';

/** Size of a tar block: headers and the padding of file data are in these units. */
export const TAR_BLOCK = 512;

/** One entry of an archive as a layer holds it. */
export interface TarEntry {
  readonly name: string;
  /** `file` or `dir`; other types are reported as `other` and skipped by readers here. */
  readonly type: 'file' | 'dir' | 'other';
  readonly size: number;
  readonly mode: number;
}

const octal = (buf: Buffer, off: number, len: number, value: number): void => {
  const s = value.toString(8).padStart(len - 1, '0');
  if (s.length > len - 1) throw new TalosError(Code.InvalidArgument, `tar: value ${value} does not fit ${len - 1} octal digits`);
  buf.write(`${s}\0`, off, len, 'ascii');
};

/**
 * A ustar header for a file or directory owned by root, with a fixed mtime so a layer's digest
 * depends only on its contents (rebuilding the same files gives the same layer).
 */
export function tarHeader(entry: { name: string; type: 'file' | 'dir'; size?: number; mode?: number; mtime?: number }): Buffer {
  const name = entry.type === 'dir' && !entry.name.endsWith('/') ? `${entry.name}/` : entry.name;
  const h = Buffer.alloc(TAR_BLOCK);
  let prefix = '';
  let base = name;
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', name.length - 2);
    prefix = name.slice(0, cut);
    base = name.slice(cut + 1);
    if (cut <= 0 || Buffer.byteLength(base) > 100 || Buffer.byteLength(prefix) > 155) throw new TalosError(Code.InvalidArgument, `tar: name ${name} is too long`);
  }
  h.write(base, 0, 100, 'utf8');
  octal(h, 100, 8, entry.mode ?? (entry.type === 'dir' ? 0o755 : 0o644));
  octal(h, 108, 8, 0);
  octal(h, 116, 8, 0);
  octal(h, 124, 12, entry.type === 'dir' ? 0 : (entry.size ?? 0));
  octal(h, 136, 12, entry.mtime ?? 0);
  h.fill(' ', 148, 156);
  h.write(entry.type === 'dir' ? '5' : '0', 156, 1, 'ascii');
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return h;
}

/** Zero bytes that pad `size` bytes of file data to a whole block. */
export function tarPadding(size: number): Buffer {
  return Buffer.alloc((TAR_BLOCK - (size % TAR_BLOCK)) % TAR_BLOCK);
}

/** The two zero blocks that end an archive. */
export const TAR_END: Buffer = Buffer.alloc(2 * TAR_BLOCK);

const cstr = (buf: Buffer, off: number, len: number): string => {
  const end = buf.indexOf(0, off);
  return buf.toString('utf8', off, end < 0 || end > off + len ? off + len : end);
};

/**
 * Reads one header block: the entry, or undefined at the end-of-archive zero block. A block whose
 * checksum does not match throws DataLoss (a layer that passed its digest check cannot have one,
 * so this means the layer was built wrong).
 */
export function parseTarHeader(block: Buffer): TarEntry | undefined {
  if (block.length !== TAR_BLOCK) throw new TalosError(Code.DataLoss, `tar: short header (${block.length} bytes)`);
  if (block.every((b) => b === 0)) return undefined;
  let sum = 0;
  for (let i = 0; i < TAR_BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  const stored = parseInt(cstr(block, 148, 8).trim(), 8);
  if (stored !== sum) throw new TalosError(Code.DataLoss, 'tar: header checksum does not match');
  const prefix = block.toString('ascii', 257, 262) === 'ustar' ? cstr(block, 345, 155) : '';
  const base = cstr(block, 0, 100);
  const typeflag = String.fromCharCode(block[156]!);
  const size = parseInt(cstr(block, 124, 12).trim() || '0', 8);
  const mode = parseInt(cstr(block, 100, 8).trim() || '0', 8);
  const type = typeflag === '0' || typeflag === '\0' ? 'file' : typeflag === '5' ? 'dir' : 'other';
  return { name: prefix ? `${prefix}/${base}` : base, type, size, mode };
}
