// Raw terminal input → dashboard keys. Written here rather than with a keypress library: the handful
// of sequences xterm, the Linux console and tmux send for arrows and F1–F3 is all the dashboard
// reads, and anything else (mouse reports, unknown CSI sequences) must be skipped whole, not typed.

import type { Key } from './model.ts';

const plain: Readonly<Record<string, Key>> = {
  h: 'left',
  l: 'right',
  j: 'down',
  k: 'up',
  q: 'quit',
  '\x03': 'quit', // Ctrl-C: raw mode delivers it as a byte, not as SIGINT
  '\x1a': 'pause', // Ctrl-Z
  '\x04': 'halfPageDown', // Ctrl-D
  '\x15': 'halfPageUp', // Ctrl-U
  '\x06': 'pageDown', // Ctrl-F
  '\x02': 'pageUp', // Ctrl-B
};

const escapes: Readonly<Record<string, Key>> = {
  '\x1b[A': 'up',
  '\x1b[B': 'down',
  '\x1b[C': 'right',
  '\x1b[D': 'left',
  '\x1bOA': 'up',
  '\x1bOB': 'down',
  '\x1bOC': 'right',
  '\x1bOD': 'left',
  '\x1bOP': 'f1', // xterm, tmux
  '\x1bOQ': 'f2',
  '\x1bOR': 'f3',
  '\x1b[11~': 'f1', // rxvt, older xterm
  '\x1b[12~': 'f2',
  '\x1b[13~': 'f3',
  '\x1b[[A': 'f1', // Linux console
  '\x1b[[B': 'f2',
  '\x1b[[C': 'f3',
  '\x1b[5~': 'pageUp',
  '\x1b[6~': 'pageDown',
};

/** The length of the escape sequence at `i` (CSI, SS3 or the console's `ESC [ [ X`), or 1 for a lone ESC. */
function escapeLength(input: string, i: number): number {
  const next = input[i + 1];
  if (next === 'O') return Math.min(3, input.length - i);
  if (next !== '[') return 1;
  if (input[i + 2] === '[') return Math.min(4, input.length - i);
  // CSI: parameter and intermediate bytes, then one final byte in @..~.
  let j = i + 2;
  while (j < input.length && !/[@-~]/.test(input[j] ?? '')) j++;
  return Math.min(j + 1, input.length) - i;
}

/** The keys in one read of raw terminal input; unknown bytes and sequences are dropped. */
export function parseKeys(input: string): Key[] {
  const keys: Key[] = [];
  let i = 0;
  while (i < input.length) {
    const ch = input[i] ?? '';
    if (ch === '\x1b') {
      const len = escapeLength(input, i);
      const key = escapes[input.slice(i, i + len)];
      if (key) keys.push(key);
      i += len;
      continue;
    }
    const key = plain[ch];
    if (key) keys.push(key);
    i++;
  }
  return keys;
}
