import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';

/** XEN_ELFNOTE_PHYS32_ENTRY: the 32-bit PVH entry point QEMU needs to start an ELF kernel directly. */
const PVH_ENTRY_NOTE = 18;

/** True when an ELF64 image carries the Xen PVH entry note (QEMU `-kernel vmlinux` can boot it). */
export function hasPvhEntry(elf: Buffer): boolean {
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2) return false;
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (elf.readUInt32LE(ph) !== 4) continue; // PT_NOTE
    const start = Number(elf.readBigUInt64LE(ph + 8));
    const end = start + Number(elf.readBigUInt64LE(ph + 32));
    for (let p = start; p + 12 <= end; ) {
      const namesz = elf.readUInt32LE(p);
      const descsz = elf.readUInt32LE(p + 4);
      const type = elf.readUInt32LE(p + 8);
      const name = elf.subarray(p + 12, p + 12 + namesz).toString('latin1').replace(/\0+$/, '');
      if (name === 'Xen' && type === PVH_ENTRY_NOTE) return true;
      p += 12 + Math.ceil(namesz / 4) * 4 + Math.ceil(descsz / 4) * 4;
    }
  }
  return false;
}

/** The compressed kernel inside a bzImage and the program that unpacks it (boot protocol ≥ 2.08). */
export function bzImagePayload(bzImage: Buffer): { data: Buffer; decompressor: readonly string[] } {
  if (bzImage.toString('latin1', 0x202, 0x206) !== 'HdrS') throw new Error('not a bzImage (no HdrS header)');
  const setupSects = bzImage[0x1f1] || 4;
  const offset = (setupSects + 1) * 512 + bzImage.readUInt32LE(0x248);
  const data = bzImage.subarray(offset, offset + bzImage.readUInt32LE(0x24c));
  if (data.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return { data, decompressor: ['xz', '-dc', '--single-stream'] };
  if (data.readUInt32LE(0) === 0xfd2fb528) return { data, decompressor: ['zstd', '-dc'] };
  if (data[0] === 0x1f && data[1] === 0x8b) return { data, decompressor: ['gzip', '-dc'] };
  throw new Error(`unsupported kernel compression (magic ${data.subarray(0, 4).toString('hex')})`);
}

/**
 * Writes the uncompressed kernel (vmlinux) of a bzImage to `out`; returns false, leaving no file,
 * when the kernel has no PVH entry and so could not be started directly anyway.
 */
export async function extractVmlinux(bzImagePath: string, out: string): Promise<boolean> {
  const { data, decompressor } = bzImagePayload(readFileSync(bzImagePath));
  const [cmd, ...args] = decompressor as [string, ...string[]];
  const fd = openSync(out, 'w');
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(cmd, args, { stdio: ['pipe', fd, 'pipe'] });
      let err = '';
      child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')}: ${err.trim() || `exit ${code}`}`))));
      child.stdin?.end(data);
    });
  } finally {
    closeSync(fd);
  }
  if (hasPvhEntry(readFileSync(out))) return true;
  rmSync(out, { force: true });
  return false;
}
