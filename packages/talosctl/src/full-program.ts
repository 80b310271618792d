import type { Command } from 'commander';
import type { CliIo } from './cli.ts';

/**
 * The whole command tree with every command loaded, for the commands that walk it (completion,
 * docs). Imported lazily: main.ts loads only the command it runs, and it is main.ts that loads these.
 */
export async function loadFullProgram(io: CliIo): Promise<Command> {
  const { buildProgram } = await import('./main.ts');
  return buildProgram(io);
}
