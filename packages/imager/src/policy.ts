import { basename } from 'node:path';

/**
 * Program names that must never be in the image: shells, multi-call toolboxes and coreutils. Talos
 * has no shell; every operation goes through the API.
 */
export const FORBIDDEN_PROGRAMS: ReadonlySet<string> = new Set([
  'sh', 'bash', 'dash', 'ash', 'zsh', 'ksh', 'csh', 'tcsh', 'fish', 'busybox', 'toybox',
  'ls', 'cat', 'cp', 'mv', 'rm', 'ln', 'mkdir', 'rmdir', 'chmod', 'chown', 'echo', 'env', 'touch',
  'head', 'tail', 'dd', 'df', 'du', 'sleep', 'test', '[', 'true', 'false', 'uname', 'id', 'whoami',
  'mount', 'umount', 'ps', 'kill', 'grep', 'sed', 'awk', 'find', 'xargs', 'tar', 'vi', 'login', 'su', 'sudo',
]);

/** The paths of a listing whose file names are forbidden programs (empty when the image is clean). */
export function forbiddenPaths(paths: readonly string[]): string[] {
  return paths.filter((p) => FORBIDDEN_PROGRAMS.has(basename(p)) || /(^|\/)coreutils(\/|$)/.test(p));
}
