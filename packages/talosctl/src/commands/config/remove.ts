import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import type { TalosconfigContext } from '@talos-ts/machinery';
import { CliError, type CliIo, type CommandRegistrar } from '../../cli.ts';
import { configGroup, openConfig, writeConfig } from './config.ts';

/** Shell-style glob (`*`, `?`, `[...]`) as a whole-string regular expression. */
export function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] ?? '';
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else if (ch === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += `[${pattern.slice(i + 1, end).replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += ch.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) throw new CliError('cannot ask for confirmation without a terminal; use --noconfirm');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [yes/no]: `)).trim());
  } finally {
    rl.close();
  }
}

/** `talosctl config remove PATTERN`: removes matching contexts except the current one. */
export const registerConfigRemove: CommandRegistrar = (parent: Command, io: CliIo) => {
  configGroup(parent)
    .command('remove')
    .argument('<context>')
    .description('Remove contexts')
    .option('-y, --noconfirm', 'do not ask for confirmation')
    .option('--dry-run', 'dry run')
    .action(async (pattern: string, opts: { noconfirm?: boolean; dryRun?: boolean }, cmd: Command) => {
      if (pattern === '') throw new CliError('no context specified');
      const { path, config } = await openConfig(cmd);
      if (Object.keys(config.contexts).length === 0) throw new CliError('no contexts defined');
      const re = globToRegExp(pattern);
      const matches = Object.keys(config.contexts).filter((n) => re.test(n)).sort();
      if (matches.length === 0) throw new CliError(`no contexts matched "${pattern}"`);
      const contexts: Record<string, TalosconfigContext> = { ...config.contexts };
      let changed = false;
      for (const name of matches) {
        if (name === config.context) {
          io.err(`skipping removal of current context "${name}", please change it to another before removing\n`);
          continue;
        }
        if (!opts.noconfirm) {
          if (!(await confirm(`remove context "${name}"?`))) continue;
        } else {
          io.err(`removing context "${name}"\n`);
        }
        delete contexts[name];
        changed = true;
      }
      if (opts.dryRun || !changed) return;
      await writeConfig(path, { context: config.context, contexts });
    });
};
