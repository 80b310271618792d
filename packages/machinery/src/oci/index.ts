export { formatImageReference, looksLikeImageReference, manifestReference, parseImageReference, type ImageReference } from './reference.ts';
export { parseTarHeader, TAR_BLOCK, TAR_END, tarHeader, tarPadding, type TarEntry } from './tar.ts';
export { Annotation, INSTALLER_ASSET_DIR, isGzipLayer, isIndex, MediaType, type Descriptor, type ImageIndexDoc, type ImageManifestDoc } from './media.ts';
export { pullImage, pushImageLayout, registryEndpoints, type PulledImage, type PullOptions, type PushResult, type RegistryMirrors, type RegistryOptions } from './registry.ts';
export { writeInstallerLayout, type InstallerLayoutOptions } from './layout.ts';
export { extractLayer, type ExtractOptions } from './extract.ts';
