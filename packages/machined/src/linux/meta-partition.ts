import { closeSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { ADV_BYTES } from '@talos-ts/machinery';

/** Where META's bytes live: the META partition on a node booted from its disk, a file in tests. */
export interface MetaDevice {
  /** A human name for logs (the device path). */
  readonly name: string;
  /** The first ADV_BYTES of the partition (shorter when the device is). */
  read(): Uint8Array;
  /** Writes both copies at offset 0 and waits until they reached the disk. */
  write(bytes: Uint8Array): void;
}

/**
 * The META partition (or any file standing in for it): read and written in place at offset 0 with
 * plain read/write and fsync, as upstream's META writes the block device.
 */
export function metaPartition(path: string): MetaDevice {
  return {
    name: path,
    read() {
      const fd = openSync(path, 'r');
      try {
        const buf = Buffer.alloc(ADV_BYTES);
        let n = 0;
        // Bounded: every pass reads at least one byte or stops at the end of the device.
        while (n < buf.length) {
          const got = readSync(fd, buf, n, buf.length - n, n);
          if (got === 0) break;
          n += got;
        }
        return buf.subarray(0, n);
      } finally {
        closeSync(fd);
      }
    },
    write(bytes) {
      const fd = openSync(path, 'r+');
      try {
        let n = 0;
        while (n < bytes.length) n += writeSync(fd, bytes, n, bytes.length - n, n);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    },
  };
}
