import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serializeTalosconfig } from '@talos-ts/machinery';
import { runCli } from '@talos-ts/testkit';
import { main } from '../../main.ts';

const mainTs = fileURLToPath(new URL('../../main.ts', import.meta.url));

/** A directory holding a `talosctl` executable that runs these sources, as the shell scripts call it. */
function talosctlOnPath(): { dir: string; env: NodeJS.ProcessEnv; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(tmpdir(), 'talosctl-completion-'));
  const code = `const { main } = await import(${JSON.stringify(mainTs)}); process.exitCode = await main(process.argv.slice(1));`;
  writeFileSync(join(dir, 'talosctl'), `#!/bin/sh\nexec node --import tsx --input-type=module -e '${code}' -- "$@"\n`);
  chmodSync(join(dir, 'talosctl'), 0o755);
  const talosconfig = join(dir, 'talosconfig');
  writeFileSync(talosconfig, serializeTalosconfig({ context: 'alpha', contexts: { alpha: { endpoints: ['127.0.0.1'] }, beta: { endpoints: [] } } }));
  return {
    dir,
    env: { ...process.env, PATH: `${dir}:${process.env['PATH'] ?? ''}`, TALOSCONFIG: talosconfig },
    [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }),
  };
}

test('talosctl completion bash: sourcing the script registers a completion function for talosctl', () => {
  using bin = talosctlOnPath();
  const out = execFileSync('bash', ['-c', 'source <(talosctl completion bash); complete -p talosctl'], { env: bin.env, encoding: 'utf8' });
  assert.match(out, /^complete .*-F _talosctl_complete talosctl$/m);
});

test('talosctl completion bash: the tab key completes subcommands and context names from the talosconfig', () => {
  using bin = talosctlOnPath();
  const script = [
    'source <(talosctl completion bash)',
    'COMP_WORDS=(talosctl config con); COMP_CWORD=2; _talosctl_complete; echo "A:${COMPREPLY[*]}"',
    'COMP_WORDS=(talosctl --context ""); COMP_CWORD=2; _talosctl_complete; echo "B:${COMPREPLY[*]}"',
  ].join('\n');
  const out = execFileSync('bash', ['-c', script], { env: bin.env, encoding: 'utf8' });
  assert.match(out, /^A:context contexts$/m);
  assert.match(out, /^B:alpha beta$/m);
});

test('talosctl completion zsh|fish: scripts parse in their shell (when installed) and name the callback', async () => {
  for (const shell of ['zsh', 'fish']) {
    const r = await runCli(main, ['completion', shell]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /talosctl __complete -- /);
    const probe = spawnSync(shell, ['--version']);
    if (probe.error) continue; // the shell is not installed here: the text checks above still ran
    const check = spawnSync(shell, ['-n'], { input: r.out, encoding: 'utf8' });
    assert.equal(check.status, 0, `${shell} -n: ${check.stderr}`);
  }
});

test('talosctl __complete: flags of the command and the globals after a partial dash word', async () => {
  const r = await runCli(main, ['__complete', '--', 'logs', '--f']);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(r.out.trim().split('\n').map((l) => l.split('\t')[0]), ['--follow']);
  const g = await runCli(main, ['__complete', '--', 'get', '--talos']);
  assert.deepEqual(g.out.trim().split('\n').map((l) => l.split('\t')[0]), ['--talosconfig']);
  // a value flag swallows the next word, so `-n version` does not count as the version command
  const v = await runCli(main, ['__complete', '--', '-n', 'version', 've']);
  assert.deepEqual(v.out.trim().split('\n').map((l) => l.split('\t')[0]), ['version']);
});

test('talosctl completion: an unknown shell is refused', async () => {
  const r = await runCli(main, ['completion', 'powershell']);
  assert.notEqual(r.code, 0);
});

