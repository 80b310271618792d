import { readFileSync } from 'node:fs';

/** One line of the kernel's mount table. */
export interface MountEntry {
  readonly source: string;
  readonly target: string;
  readonly filesystemType: string;
  readonly options: string[];
}

/** The kernel escapes space, tab, newline and backslash in mount table fields as octal (\040). */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Parses /proc/self/mounts text. */
export function parseMounts(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length < 4) continue;
    out.push({ source: unescape(f[0] as string), target: unescape(f[1] as string), filesystemType: f[2] as string, options: (f[3] as string).split(',') });
  }
  return out;
}

/** The current mount table of this process' mount namespace. */
export function readMounts(path = '/proc/self/mounts'): MountEntry[] {
  return parseMounts(readFileSync(path, 'utf8'));
}
