/** One entry of an initramfs archive. */
export type CpioEntry =
  | { readonly kind: 'dir'; readonly path: string; readonly mode?: number }
  | { readonly kind: 'file'; readonly path: string; readonly data: Uint8Array; readonly mode?: number }
  | { readonly kind: 'symlink'; readonly path: string; readonly target: string }
  | { readonly kind: 'char'; readonly path: string; readonly major: number; readonly minor: number; readonly mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function pad4(n: number): Buffer {
  return Buffer.alloc((4 - (n % 4)) % 4);
}

/**
 * Writes a "newc" cpio archive, the format the kernel unpacks into its initial rootfs. Written here
 * rather than with cpio(1) so device nodes need no root and the bytes do not depend on the host
 * (owner root, mtime 0, inodes numbered in order).
 */
export function writeCpio(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  const header = (name: string, mode: number, size: number, rdev: [number, number], nlink: number): void => {
    const nameBytes = Buffer.from(`${name}\0`);
    const fields = [ino++, mode, 0, 0, nlink, 0, size, 0, 0, rdev[0], rdev[1], nameBytes.length, 0];
    const h = Buffer.from(`070701${fields.map(hex8).join('')}`, 'ascii');
    parts.push(h, nameBytes, pad4(h.length + nameBytes.length));
  };
  for (const e of entries) {
    const name = e.path.replace(/^\/+/, '');
    switch (e.kind) {
      case 'dir':
        header(name, S_IFDIR | (e.mode ?? 0o755), 0, [0, 0], 2);
        break;
      case 'file':
        header(name, S_IFREG | (e.mode ?? 0o644), e.data.length, [0, 0], 1);
        parts.push(Buffer.from(e.data.buffer, e.data.byteOffset, e.data.length), pad4(e.data.length));
        break;
      case 'symlink': {
        const t = Buffer.from(e.target);
        header(name, S_IFLNK | 0o777, t.length, [0, 0], 1);
        parts.push(t, pad4(t.length));
        break;
      }
      case 'char':
        header(name, S_IFCHR | (e.mode ?? 0o600), 0, [e.major, e.minor], 1);
        break;
    }
  }
  ino = 0;
  header('TRAILER!!!', 0, 0, [0, 0], 1);
  return Buffer.concat(parts);
}
