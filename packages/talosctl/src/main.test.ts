import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from './main.ts';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t) }, out, err };
}

test('talosctl --help lists the version command and exits 0', async () => {
  const c = capture();
  const code = await main(['--help'], c.io);
  assert.equal(code, 0);
  assert.match(c.out.join(''), /version/);
  assert.match(c.out.join(''), /--talosconfig/);
});

test('talosctl version --client prints the tag in upstream layout', async () => {
  const c = capture();
  assert.equal(await main(['version', '--client'], c.io), 0);
  assert.match(c.out.join(''), /^Client:\n\tTag:\s+v\d+\.\d+\.\d+/);
});

test('talosctl rejects an unknown command with a non-zero exit', async () => {
  const c = capture();
  assert.notEqual(await main(['no-such-command'], c.io), 0);
  assert.match(c.err.join(''), /unknown command/);
});

test('global -n accepts comma lists and repetition without swallowing the command', async () => {
  const { buildProgram } = await import('./main.ts');
  const c = capture();
  const program = await buildProgram(c.io);
  await program.parseAsync(['-n', '10.0.0.1,10.0.0.2', '--nodes', '10.0.0.3', 'version', '--client'], { from: 'user' });
  assert.deepEqual(program.opts()['nodes'], ['10.0.0.1', '10.0.0.2', '10.0.0.3']);
  assert.match(c.out.join(''), /Client:/);
});
