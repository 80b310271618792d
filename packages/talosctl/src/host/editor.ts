// The one place talosctl starts another program: the user's editor for `talosctl edit`.

import { spawn } from 'node:child_process';
import { CliError } from '../cli.ts';

/** The editor command: $TALOS_EDITOR, then $EDITOR, else vi (upstream's order). */
export function editorCommand(env: Readonly<Record<string, string | undefined>> = process.env): string[] {
  const raw = env['TALOS_EDITOR'] || env['EDITOR'] || 'vi';
  return raw.split(/\s+/).filter((p) => p !== '');
}

/** Opens `file` in the user's editor on this terminal and resolves when the editor exits successfully. */
export async function launchEditor(file: string, env: Readonly<Record<string, string | undefined>> = process.env): Promise<void> {
  const [prog, ...args] = editorCommand(env);
  if (!prog) throw new CliError('no editor configured');
  await new Promise<void>((resolve, reject) => {
    const child = spawn(prog, [...args, file], { stdio: 'inherit', env: { ...process.env, ...env } });
    child.once('error', (err) => reject(new CliError(`error launching editor "${prog}": ${err.message}`)));
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new CliError(`editor "${prog}" exited with ${signal ?? `code ${code}`}`));
    });
  });
}
