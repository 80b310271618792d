export { crc32 } from './crc32.ts';
export {
  checkLayout, decodeGpt, encodeGpt, GPT_BACKUP_SECTORS, GPT_ENTRY_COUNT, GPT_PRIMARY_SECTORS, guidFromBytes, guidToBytes, LEGACY_BIOS_BOOTABLE, newGuid,
  SECTOR_BYTES, type EncodedGpt, type GptLayout, type GptPartition,
} from './gpt.ts';
export {
  ALIGN_BYTES, isTalosLayout, MIN_DISK_BYTES, PartitionLabel, partitionByLabel, PartitionSizeBytes, PartitionType, talosLayout,
  type PartitionLabelName, type TalosLayoutOptions,
} from './talos-layout.ts';
export {
  bootChoiceEnv, bootChoiceFromEnv, decodeGrubEnv, encodeGrubEnv, GRUB_CORE_MODULES, GRUB_PREFIX, grubConfig, grubConfigCmdlines, grubQuote, GRUBENV_BYTES, slotFiles,
  type BootChoice, type BootSlot, type GrubConfigOptions,
} from './grub.ts';
export { biosBootSectors, type BiosBootOptions } from './bios-boot.ts';
export { bootloaderWrites, InstallerFiles, xfsProto, type DiskWrite } from './compose.ts';
export { checkSlotFits, checkUpgradeSupported, otherSlot, parseUpgradeImage, rollbackBootChoice, settleBootChoice, slotWriteBytesNeeded, UPGRADE_ACK, upgradeBootChoice, type SlotFileWrite, type UpgradeAttempt, type UpgradeSource } from './upgrade.ts';
export { IMAGE_SIGNATURE_FILE, manifestSignedBy, verifyTrustedManifest, type ImageManifestHead } from './image-trust.ts';
