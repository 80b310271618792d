import { readFile } from 'node:fs/promises';

/**
 * /proc/meminfo as the Memory API reports it: keys lower-cased with punctuation dropped
 * (`Active(anon)` → `activeanon`, `HugePages_Total` → `hugepagestotal`), values in kB as the
 * kernel gives them.
 */
export async function readMemInfo(path = '/proc/meminfo'): Promise<Record<string, bigint>> {
  const text = await readFile(path, 'utf8');
  const out: Record<string, bigint> = {};
  for (const line of text.split('\n')) {
    const m = /^([^:]+):\s+(\d+)/.exec(line);
    if (!m || m[1] === undefined || m[2] === undefined) continue;
    out[m[1].toLowerCase().replace(/[()_]/g, '')] = BigInt(m[2]);
  }
  return out;
}
