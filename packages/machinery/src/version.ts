/** Version facts of this build of Talos-TS, shown by `talosctl version` and the Version API. */
export interface VersionInfo {
  readonly tag: string;
  readonly sha: string;
  readonly built: string;
  readonly runtime: string;
  readonly os: string;
  readonly arch: string;
}

/** The release tag of this source tree; bumped on release. */
export const TAG = 'v0.1.0';

/** The version of the running build. `sha` and `built` come from the image build when there is one. */
export function currentVersion(env: NodeJS.ProcessEnv = process.env): VersionInfo {
  return {
    tag: TAG,
    sha: env['TALOS_TS_SHA'] ?? 'dev',
    built: env['TALOS_TS_BUILT'] ?? '',
    runtime: `node ${process.version}`,
    os: process.platform,
    arch: process.arch === 'x64' ? 'amd64' : process.arch,
  };
}
