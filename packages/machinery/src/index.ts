export { TAG, currentVersion } from './version.ts';
export type { VersionInfo } from './version.ts';
export * from './secrets/index.ts';
export * from './client/index.ts';
