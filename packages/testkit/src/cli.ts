/** What a CLI run printed and returned. */
export interface CliRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** A CLI entry point taking argv and an output sink, like talosctl's `main`. */
export type CliMain = (argv: readonly string[], io: { out: (t: string) => void; err: (t: string) => void }) => Promise<number>;

/** Options of {@link runCli}. */
export interface RunCliOptions {
  /**
   * Rejects when the run has not returned within this long, naming the command and what it printed
   * so far (the in-process run itself cannot be stopped; its own network bounds end it later).
   */
  readonly timeoutMs?: number;
}

/** Runs a CLI in-process and captures its output (the testkit takes `main` so it imports no CLI). */
export async function runCli(main: CliMain, args: readonly string[], options: RunCliOptions = {}): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const run = main(args, { out: (t) => void out.push(t), err: (t) => void err.push(t) });
  const limit = options.timeoutMs;
  let code: number;
  if (limit === undefined) code = await run;
  else {
    let timer: NodeJS.Timeout | undefined;
    try {
      code = await Promise.race([
        run,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`\`${args.join(' ')}\` did not return within ${limit} ms; printed so far: ${[...out, ...err].join('').slice(-400)}`)), limit);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
  return { code, out: out.join(''), err: err.join('') };
}
