import { open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import type { SnapshotData } from './state.ts';

/** Result of parsing untrusted input. */
export type Parsed<T> = { value: T } | { error: string };

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const b64re = /^[A-Za-z0-9+/]*={0,2}$/;

/** Checks the shape of a snapshot file; the error names the offending path. */
export function parseSnapshot(text: string): Parsed<SnapshotData> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { error: `snapshot: not JSON: ${(err as Error).message}` };
  }
  if (!isObj(raw) || raw['version'] !== 1) return { error: 'snapshot.version: must be 1' };
  const clusters = raw['clusters'];
  if (!Array.isArray(clusters)) return { error: 'snapshot.clusters: must be a list' };
  for (const [i, c] of clusters.entries()) {
    const p = `snapshot.clusters[${i}]`;
    if (!isObj(c) || typeof c['id'] !== 'string') return { error: `${p}.id: must be a string` };
    if (!Array.isArray(c['affiliates'])) return { error: `${p}.affiliates: must be a list` };
    for (const [j, a] of (c['affiliates'] as unknown[]).entries()) {
      const q = `${p}.affiliates[${j}]`;
      if (!isObj(a) || typeof a['id'] !== 'string') return { error: `${q}.id: must be a string` };
      if (a['data'] !== undefined && (typeof a['data'] !== 'string' || !b64re.test(a['data']))) return { error: `${q}.data: must be base64` };
      if (typeof a['expiresAt'] !== 'number') return { error: `${q}.expiresAt: must be a number` };
      if (!Array.isArray(a['endpoints'])) return { error: `${q}.endpoints: must be a list` };
      for (const [k, e] of (a['endpoints'] as unknown[]).entries()) {
        const r = `${q}.endpoints[${k}]`;
        if (!isObj(e) || typeof e['data'] !== 'string' || !b64re.test(e['data'])) return { error: `${r}.data: must be base64` };
        if (typeof e['expiresAt'] !== 'number') return { error: `${r}.expiresAt: must be a number` };
      }
    }
  }
  return { value: raw as unknown as SnapshotData };
}

/** Reads a snapshot file; a missing file is an empty snapshot. */
export async function readSnapshot(path: string): Promise<Parsed<SnapshotData>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { value: { version: 1, clusters: [] } };
    return { error: `snapshot: ${(err as Error).message}` };
  }
  return parseSnapshot(text);
}

/** Writes the snapshot so a crash leaves either the old or the new file, never half of one. */
export async function writeSnapshot(path: string, data: SnapshotData): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(JSON.stringify(data));
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
