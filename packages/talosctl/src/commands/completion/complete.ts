// The completion engine behind the shell scripts: given the words typed so far, it walks the
// commander tree as the parser would and answers what may come next. Upstream's cobra scripts call
// back into the binary (`__complete`) the same way, so the scripts stay small and always match the
// commands this build has.

import { homedir } from 'node:os';
import type { Command, Option } from 'commander';
import { loadTalosconfig, resolveTalosconfigPath } from '@talos-ts/machinery';

/** One answer: the word to insert and, for shells that show them, a short description. */
export interface Candidate {
  readonly value: string;
  readonly description: string;
}

function visibleCommands(cmd: Command): Command[] {
  return cmd.createHelp().visibleCommands(cmd).filter((c) => c.name() !== 'help');
}

/** The options in force at `cmd`: its own, then every ancestor's (globals). */
function optionsInScope(cmd: Command): Option[] {
  const out: Option[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) out.push(...c.options);
  return out;
}

function findOption(cmd: Command, word: string): Option | undefined {
  const name = word.split('=')[0];
  return optionsInScope(cmd).find((o) => o.long === name || o.short === name);
}

/** The --talosconfig typed on the line, if any, so context names come from the right file. */
function typedFlag(words: readonly string[], flag: string): string | undefined {
  for (let i = 0; i < words.length; i++) {
    const w = words[i] ?? '';
    if (w === flag) return words[i + 1];
    if (w.startsWith(`${flag}=`)) return w.slice(flag.length + 1);
  }
  return undefined;
}

async function contextNames(words: readonly string[]): Promise<Candidate[]> {
  try {
    const { path } = resolveTalosconfigPath({ flag: typedFlag(words, '--talosconfig'), env: process.env, homeDir: homedir() });
    const config = await loadTalosconfig(path, { allowMissing: true });
    return Object.keys(config.contexts).map((value) => ({ value, description: '' }));
  } catch {
    // A broken talosconfig must not break the shell's tab key; it just offers nothing.
    return [];
  }
}

/** Fixed value sets of a few flags, as upstream registers for them. */
const flagValues: Readonly<Record<string, readonly string[]>> = {
  '--output': ['table', 'yaml', 'json', 'jsonpath'],
};

/**
 * Candidates for the last word of `words` (the word being typed, possibly empty); the others are
 * the words before it, after the program name.
 */
export async function complete(program: Command, words: readonly string[]): Promise<Candidate[]> {
  const typed = words.slice(0, -1);
  const current = words[words.length - 1] ?? '';
  let cmd = program;
  let pendingValue: Option | undefined;
  let afterDoubleDash = false;
  for (const w of typed) {
    if (pendingValue) {
      pendingValue = undefined;
      continue;
    }
    if (w === '--') {
      afterDoubleDash = true;
      continue;
    }
    if (!afterDoubleDash && w.startsWith('-')) {
      const o = findOption(cmd, w);
      // Only a mandatory value (`<x>`) takes the next word; `[x]` needs `--flag=x`.
      if (o?.required && !w.includes('=')) pendingValue = o;
      continue;
    }
    const sub = visibleCommands(cmd).find((c) => c.name() === w || c.aliases().includes(w));
    if (sub) cmd = sub;
  }
  const byPrefix = (c: readonly Candidate[]): Candidate[] => c.filter((x) => x.value.startsWith(current));
  if (pendingValue) {
    if (pendingValue.long === '--context') return byPrefix(await contextNames(words));
    return byPrefix((flagValues[pendingValue.long ?? ''] ?? []).map((value) => ({ value, description: '' })));
  }
  if (current.startsWith('-')) {
    const flags: Candidate[] = [];
    for (const o of optionsInScope(cmd)) {
      if (o.hidden) continue;
      if (o.long) flags.push({ value: o.long, description: o.description });
      if (o.short && current.length <= 2) flags.push({ value: o.short, description: o.description });
    }
    return byPrefix(flags);
  }
  return byPrefix(
    visibleCommands(cmd).map((c) => ({ value: c.name(), description: c.summary() || (c.description().split('\n')[0] ?? '') })),
  );
}
