export { writeCpio, type CpioEntry } from './cpio.ts';
export {
  ArtifactName, checkManifestSignature, encodeManifest, KERNEL_ELF, MANIFEST_FILE, PUBLIC_KEY_FILE, sha256, sha256File, SIGNATURE_FILE,
  signManifest, verifyImage, type CompressionPreset, type ImageManifest, type VerifyOptions,
} from './manifest.ts';
export { filterDepmod, INITRAMFS_MODULE_NAMES, moduleClosure, moduleLoadOrder, NODE_MODULE_NAMES, type DepmodFiles } from './modules.ts';
export { FORBIDDEN_PROGRAMS, forbiddenPaths } from './policy.ts';
export { buildImage, buildPrograms, listSquashfs, type BuildImageOptions, type BuiltImage } from './build/image.ts';
export { bootDiskVm, bootVm, kvmUsable, USER_NET, type BootDiskVmOptions, type BootVmOptions, type GuestForward, type RunningVm } from './build/qemu.ts';
export { buildDiskImage, buildInstallerAssets, DISK_IMAGE, DISK_KERNEL_ARGS, GRUB_I386_PC_DIR, InstallerAsset, type BuildDiskImageOptions } from './build/disk.ts';
export { INSTALLER_IMAGE_FILES, INSTALLER_LAYOUT, pushInstaller, writeInstallerImage } from './build/installer.ts';
