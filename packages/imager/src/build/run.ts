import { execFile } from 'node:child_process';

/** Runs a program to completion; rejects with its stderr when it fails. */
export function run(file: string, args: readonly string[], options: { cwd?: string; signal?: AbortSignal; maxBufferBytes?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      [...args],
      { cwd: options.cwd, signal: options.signal, maxBuffer: options.maxBufferBytes ?? 64 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${file} ${args.join(' ')}: ${(stderr || err.message).trim().split('\n').slice(-5).join('\n')}`));
        else resolve(stdout);
      },
    );
  });
}

/** The shared libraries a dynamically linked program loads, from ldd (absolute paths, loader included). */
export async function sharedLibraries(program: string): Promise<string[]> {
  let out: string;
  try {
    out = await run('ldd', [program]);
  } catch (err) {
    // Static binaries make ldd fail with "not a dynamic executable".
    if (/not a dynamic executable/.test((err as Error).message)) return [];
    throw err;
  }
  const libs: string[] = [];
  for (const line of out.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m?.[1]) libs.push(m[1]);
  }
  return libs;
}
