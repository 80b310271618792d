/** Version facts of this build of Talos-TS, shown by `talosctl version` and the Version API. */
export interface VersionInfo {
  readonly tag: string;
  readonly sha: string;
  readonly built: string;
  readonly runtime: string;
  readonly os: string;
  readonly arch: string;
}

// Stamped into every bundle by scripts/build.mjs (esbuild `define`); absent when running the
// TypeScript sources directly. The tag is stamped only by `talos-imager build --version`.
declare const __TALOS_TS_TAG__: string | undefined;
declare const __TALOS_TS_SHA__: string | undefined;
declare const __TALOS_TS_BUILT__: string | undefined;

/** The release tag of this build: the source tree's (bumped on release) unless the build stamped another. */
export const TAG: string = typeof __TALOS_TS_TAG__ === 'string' ? __TALOS_TS_TAG__ : 'v0.1.0';

/**
 * The version of the running build: `sha` (git commit, `-dirty` for a changed work tree) and
 * `built` come from the bundle's build stamp; TALOS_TS_SHA / TALOS_TS_BUILT override them, and
 * sources run without a bundle report `dev`.
 */
export function currentVersion(env: NodeJS.ProcessEnv = process.env): VersionInfo {
  const sha = typeof __TALOS_TS_SHA__ === 'string' ? __TALOS_TS_SHA__ : undefined;
  const built = typeof __TALOS_TS_BUILT__ === 'string' ? __TALOS_TS_BUILT__ : undefined;
  return {
    tag: TAG,
    sha: env['TALOS_TS_SHA'] ?? sha ?? 'dev',
    built: env['TALOS_TS_BUILT'] ?? built ?? '',
    runtime: `node ${process.version}`,
    os: process.platform,
    arch: process.arch === 'x64' ? 'amd64' : process.arch,
  };
}
