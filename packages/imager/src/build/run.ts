import { execFile } from 'node:child_process';

/** Runs a program to completion; rejects with its stderr when it fails. */
export function run(file: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; signal?: AbortSignal; maxBufferBytes?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      [...args],
      { cwd: options.cwd, env: options.env, signal: options.signal, maxBuffer: options.maxBufferBytes ?? 64 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${file} ${args.join(' ')}: ${(stderr || err.message).trim().split('\n').slice(-5).join('\n')}`));
        else resolve(stdout);
      },
    );
  });
}

/** Runs a program to completion whatever its exit status; resolves with the status and its output. */
export function runStatus(file: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    execFile(file, [...args], { env: options.env, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, out: `${stdout}${stderr}` });
    });
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
