// Go-style boolean flags on top of commander. Upstream's talosctl (cobra + pflag) accepts a boolean
// flag as `--flag`, `--flag=true` and `--flag=false` (and strconv.ParseBool's other spellings);
// commander knows only `--flag` and `--no-flag`. Rather than give every command its own parser, the
// whole tree gets one treatment after its commands are declared: each boolean option gains a
// hidden `--no-x` twin, and `--x=<bool>` in argv is rewritten to `--x` or `--no-x` before parsing.
// Commands keep declaring booleans the plain commander way: `.option('--wait', '…', true)`.

import { Option, type Command } from 'commander';
import { CliError } from './cli.ts';

const truthy = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const falsy = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

function* walk(cmd: Command): Generator<Command> {
  yield cmd;
  for (const c of cmd.commands) yield* walk(c);
}

/** Gives every boolean option in the tree a hidden `--no-x` twin, so `--x=false` has a meaning. */
export function addBooleanNegations(root: Command): void {
  for (const cmd of walk(root)) {
    for (const opt of [...cmd.options]) {
      if (!opt.isBoolean() || !opt.long) continue;
      const negated = `--no-${opt.long.slice(2)}`;
      if (cmd.options.some((o) => o.long === negated)) continue;
      cmd.addOption(new Option(negated).hideHelp());
    }
  }
}

/**
 * Rewrites `--x=<bool>` of boolean flags into `--x` / `--no-x`. A long flag that is boolean in
 * one loaded command and takes a value in another is left alone (commander decides).
 */
export function goBooleanArgs(root: Command, argv: readonly string[]): string[] {
  const booleans = new Set<string>();
  const valued = new Set<string>();
  for (const cmd of walk(root)) {
    for (const opt of cmd.options) {
      if (!opt.long || opt.negate) continue;
      (opt.isBoolean() ? booleans : valued).add(opt.long);
    }
  }
  const out: string[] = [];
  let rest = false;
  for (const arg of argv) {
    const m = rest ? null : /^(--[^=]+)=(.*)$/s.exec(arg);
    if (arg === '--') rest = true;
    const flag = m?.[1];
    const value = m?.[2];
    if (flag === undefined || value === undefined || !booleans.has(flag) || valued.has(flag)) {
      out.push(arg);
      continue;
    }
    if (truthy.has(value)) out.push(flag);
    else if (falsy.has(value)) out.push(`--no-${flag.slice(2)}`);
    else throw new CliError(`invalid argument "${value}" for "${flag}" flag: strconv.ParseBool: parsing "${value}": invalid syntax`);
  }
  return out;
}
