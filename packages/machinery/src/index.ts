export { TAG, currentVersion } from './version.ts';
export type { VersionInfo } from './version.ts';
export * from './config/index.ts';
