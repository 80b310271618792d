// runCli's optional bound: a CLI run that never returns is reported, one that returns is untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from './cli.ts';

test('runCli: a run that never returns rejects after timeoutMs, naming the command and its output so far', async () => {
  const hung = (_argv: readonly string[], io: { out: (t: string) => void }) => {
    io.out('dialling');
    return new Promise<number>(() => undefined);
  };
  await assert.rejects(runCli(hung, ['get', 'members'], { timeoutMs: 100 }), /`get members` did not return within 100 ms; printed so far: dialling/);
});

test('runCli: a run that returns gives its code and output, with or without a bound', async () => {
  const ok = async (argv: readonly string[], io: { out: (t: string) => void; err: (t: string) => void }) => {
    io.out(argv.join(','));
    io.err('warn');
    return 3;
  };
  assert.deepEqual(await runCli(ok, ['a', 'b'], { timeoutMs: 1000 }), { code: 3, out: 'a,b', err: 'warn' });
  assert.deepEqual(await runCli(ok, ['c']), { code: 3, out: 'c', err: 'warn' });
});
