import { SECTOR_BYTES } from './gpt.ts';

// Offsets in GRUB's i386-pc boot.img (the MBR code) and diskboot.img (core.img's first sector).
const BPB_START = 0x03;
const BPB_END = 0x5a;
const KERNEL_SECTOR = 0x5c;
const BOOT_DRIVE = 0x64;
const DRIVE_CHECK = 0x66;
const NT_MAGIC = 0x1b8;
/** The first blocklist entry sits at the end of diskboot's sector: start LBA (u64), sectors (u16), segment (u16). */
const BLOCKLIST = SECTOR_BYTES - 12;

/** Options of {@link biosBootSectors}. */
export interface BiosBootOptions {
  /** The disk's current sector 0 (its partition table and BPB are kept). */
  readonly mbr: Uint8Array;
  /** GRUB's boot.img (512 bytes, from /usr/lib/grub/i386-pc). */
  readonly bootImg: Uint8Array;
  /** A core.img made by grub-mkimage -O i386-pc. */
  readonly coreImg: Uint8Array;
  /** The LBA core.img is written at (the first sector of the BIOS boot partition). */
  readonly coreLba: number;
  /** Sectors available at coreLba (the BIOS boot partition's size). */
  readonly coreMaxSectors: number;
}

/**
 * What grub-bios-setup writes, computed without touching a disk: sector 0 with boot.img's code
 * pointing at core.img, and core.img with its blocklist pointing at its own remaining sectors,
 * which must be contiguous (the BIOS boot partition guarantees it).
 */
export function biosBootSectors(options: BiosBootOptions): { mbr: Buffer; core: Buffer } {
  const { bootImg, coreLba } = options;
  if (bootImg.length !== SECTOR_BYTES) throw new RangeError(`boot.img is ${bootImg.length} bytes, expected ${SECTOR_BYTES}`);
  if (options.mbr.length !== SECTOR_BYTES) throw new RangeError(`sector 0 is ${options.mbr.length} bytes`);
  const coreSectors = Math.ceil(options.coreImg.length / SECTOR_BYTES);
  if (coreSectors < 2) throw new RangeError('core.img is too small to be a GRUB core image');
  if (coreSectors > options.coreMaxSectors) throw new RangeError(`core.img needs ${coreSectors} sectors, the BIOS boot partition has ${options.coreMaxSectors}`);

  const old = Buffer.from(options.mbr);
  const mbr = Buffer.from(bootImg);
  old.copy(mbr, BPB_START, BPB_START, BPB_END);
  mbr.writeBigUInt64LE(BigInt(coreLba), KERNEL_SECTOR);
  // 0xff: use the drive number the BIOS passed in DL.
  mbr[BOOT_DRIVE] = 0xff;
  // A hard disk: skip the check that works around BIOSes passing a floppy number (as grub-bios-setup does).
  mbr[DRIVE_CHECK] = 0x90;
  mbr[DRIVE_CHECK + 1] = 0x90;
  old.copy(mbr, NT_MAGIC, NT_MAGIC, SECTOR_BYTES);
  mbr[510] = 0x55;
  mbr[511] = 0xaa;

  const core = Buffer.alloc(coreSectors * SECTOR_BYTES);
  core.set(options.coreImg);
  if (core.readUInt16LE(BLOCKLIST + 10) === 0) throw new RangeError('core.img has no blocklist segment: not an i386-pc core image');
  core.writeBigUInt64LE(BigInt(coreLba + 1), BLOCKLIST);
  core.writeUInt16LE(coreSectors - 1, BLOCKLIST + 8);
  // The next entry (growing downwards) ends the list.
  core.fill(0, BLOCKLIST - 12, BLOCKLIST);
  return { mbr, core };
}
