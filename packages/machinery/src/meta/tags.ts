// Upstream's META tags (pkg/machinery/meta): the keys machined itself reads and writes. The others
// (1..5 are reserved by the syslinux ADV) are free for operators through `talosctl meta write`.

/** Tags of META with upstream's numbers. */
export const MetaTag = {
  /** The version an upgrade left behind (upstream's Upgrade tag). */
  Upgrade: 6,
  /** The installer image of a staged upgrade. */
  StagedUpgradeImageRef: 7,
  /** JSON of the install options of a staged upgrade. */
  StagedUpgradeInstallOptions: 8,
  StateEncryptionConfig: 9,
  MetalNetworkPlatformConfig: 10,
  DownloadURLCode: 11,
  UserReserved1: 12,
  UserReserved2: 13,
  UserReserved3: 14,
  UUIDOverride: 15,
  UniqueMachineToken: 16,
  DiskImageBootloader: 17,
} as const;

/** The resource id of a META key, as upstream's (`0x0a`). */
export function metaKeyId(tag: number): string {
  return `0x${tag.toString(16).padStart(2, '0')}`;
}

/**
 * Parses a META key as `talosctl meta` takes it (Go's ParseUint base 0: `0xa`, `0o12`, `0b1010`,
 * `10`), limited to one byte.
 */
export function parseMetaKey(text: string): { value: number } | { error: string } {
  const t = text.trim().replaceAll('_', '');
  let n: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(t)) n = Number.parseInt(t.slice(2), 16);
  else if (/^0[oO][0-7]+$/.test(t)) n = Number.parseInt(t.slice(2), 8);
  else if (/^0[bB][01]+$/.test(t)) n = Number.parseInt(t.slice(2), 2);
  else if (/^0[0-7]+$/.test(t)) n = Number.parseInt(t.slice(1), 8);
  else if (/^\d+$/.test(t)) n = Number.parseInt(t, 10);
  else return { error: `strconv.ParseUint: parsing ${JSON.stringify(text)}: invalid syntax` };
  if (n > 255) return { error: `strconv.ParseUint: parsing ${JSON.stringify(text)}: value out of range` };
  return { value: n };
}
