import { readFileSync } from 'node:fs';
import { TRUSTED_IMAGE_KEY_PATH } from '@talos-ts/machinery';

/**
 * The public key the running image trusts for installers (the one that signed it, placed in its
 * root by the imager); undefined when the image carries none (then no installer is accepted).
 */
export function readTrustedImageKey(path: string = TRUSTED_IMAGE_KEY_PATH): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
