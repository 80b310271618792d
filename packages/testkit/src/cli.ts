/** What a CLI run printed and returned. */
export interface CliRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** A CLI entry point taking argv and an output sink, like talosctl's `main`. */
export type CliMain = (argv: readonly string[], io: { out: (t: string) => void; err: (t: string) => void }) => Promise<number>;

/** Runs a CLI in-process and captures its output (the testkit takes `main` so it imports no CLI). */
export async function runCli(main: CliMain, args: readonly string[]): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (t) => void out.push(t), err: (t) => void err.push(t) });
  return { code, out: out.join(''), err: err.join('') };
}
