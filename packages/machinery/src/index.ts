export { TAG, currentVersion } from './version.ts';
export type { VersionInfo } from './version.ts';
export * from './resources/index.ts';
export * from './role/index.ts';
export * from './secrets/index.ts';
export * from './client/index.ts';
export * from './config/index.ts';
