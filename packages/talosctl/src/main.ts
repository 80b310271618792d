import { Command, CommanderError } from 'commander';
import { CliError, listFlag, type CliIo } from './cli.ts';
import { commandGroups, commandRegistry, findCommandEntry, type CommandEntry } from './commands/registry.ts';
import { addBooleanNegations, goBooleanArgs } from './flags.ts';

// Global flags that take a value: the pre-scan that finds the command word skips their values.
const globalValueFlags = new Set(['--talosconfig', '--context', '-e', '--endpoints', '-n', '--nodes', '--cluster']);

/**
 * The top-level command an argv runs (`help X` counts as X), found without loading any command:
 * global flags and their values are skipped, the first other word is the command.
 */
export function commandWord(argv: readonly string[]): string | undefined {
  const words: string[] = [];
  for (let i = 0; i < argv.length && words.length < 2; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') break;
    if (arg.startsWith('-')) {
      if (globalValueFlags.has(arg)) i++;
      continue;
    }
    words.push(arg);
    if (arg !== 'help') break;
  }
  return words[0] === 'help' ? words[1] : words[0];
}

function rootProgram(io: CliIo): Command {
  return new Command('talosctl')
    .description('A CLI for out-of-band management of Kubernetes nodes created by Talos-TS')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .configureHelp({ showGlobalOptions: true, sortSubcommands: true })
    .option('--talosconfig <path>', "the path to the Talos configuration file (default: $TALOSCONFIG, else ~/.talos/config)")
    .option('--context <name>', 'context to be used in command')
    .option('-e, --endpoints <endpoints>', 'override default endpoints in Talos configuration', listFlag, [])
    .option('-n, --nodes <nodes>', 'target the specified nodes', listFlag, [])
    .option('--cluster <name>', 'cluster to connect to if a proxy endpoint is used (not supported by Talos-TS)');
}

/** The root help, laid out as cobra does for upstream's grouped command list. */
function rootHelp(program: Command): string {
  const width = Math.max(...commandRegistry.map((e) => e.name.length), 'completion'.length) + 2;
  const lines = [program.description(), '', 'Usage:', '  talosctl [command]', ''];
  for (const [group, title] of Object.entries(commandGroups)) {
    lines.push(title);
    for (const e of commandRegistry.filter((c) => c.group === group && !c.hidden)) lines.push(`  ${e.name.padEnd(width)}${e.summary}`);
    lines.push('');
  }
  lines.push('Additional Commands:', `  ${'help'.padEnd(width)}Help about any command`, '');
  const help = program.createHelp();
  const flags = program.options.filter((o) => !o.hidden);
  const flagWidth = Math.max(...flags.map((o) => o.flags.length), '-h, --help'.length) + 4;
  const pad = (f: string): string => (f.startsWith('--') ? `    ${f}` : f);
  lines.push('Flags:');
  for (const o of flags) lines.push(`  ${pad(o.flags).padEnd(flagWidth)}${help.optionDescription(o)}`);
  lines.push(`  ${'-h, --help'.padEnd(flagWidth)}help for talosctl`, '');
  lines.push('Use "talosctl [command] --help" for more information about a command.', '');
  return lines.join('\n');
}

/**
 * Builds the command tree with `selected` loaded in full and every other top-level command as a
 * stub (name, aliases, summary) that the root help lists; exported so tests run commands in-process.
 */
export async function buildProgram(io: CliIo, selected: readonly CommandEntry[] = commandRegistry): Promise<Command> {
  const program = rootProgram(io);
  program.helpInformation = () => rootHelp(program);
  const registrars = await Promise.all(selected.map((e) => e.load()));
  for (const list of registrars) for (const register of list) register(program, io);
  for (const e of commandRegistry) {
    if (selected.includes(e)) continue;
    program
      .command(e.name, { hidden: e.hidden === true })
      .aliases([...(e.aliases ?? [])])
      .description(e.summary);
  }
  addBooleanNegations(program);
  return program;
}

/** Runs talosctl with the given arguments and returns the process exit code. */
export async function main(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  try {
    const word = commandWord(argv);
    const entry = word === undefined ? undefined : findCommandEntry(word);
    const program = await buildProgram(io, entry ? [entry] : []);
    await program.parseAsync(goBooleanArgs(program, argv), { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof CliError) {
      io.err(`error: ${err.message}\n`);
      return err.exitCode;
    }
    io.err(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

const defaultIo: CliIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};
