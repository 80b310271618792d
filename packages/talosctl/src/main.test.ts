import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildProgram, main } from './main.ts';

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
  const c = capture();
  const program = await buildProgram(c.io);
  await program.parseAsync(['-n', '10.0.0.1,10.0.0.2', '--nodes', '10.0.0.3', 'version', '--client'], { from: 'user' });
  assert.deepEqual(program.opts()['nodes'], ['10.0.0.1', '10.0.0.2', '10.0.0.3']);
  assert.match(c.out.join(''), /Client:/);
});

test('talosctl --help: commands grouped under upstream headings, global flags listed', async () => {
  const c = capture();
  assert.equal(await main(['--help'], c.io), 0);
  const out = c.out.join('');
  const sections = ['Manage running Talos clusters:', 'Commands to generate and manage machine configuration offline:', 'Local Talos cluster commands:', 'Additional Commands:', 'Flags:'];
  const at = sections.map((s) => out.indexOf(`\n${s}\n`));
  assert.ok(at.every((i, k) => i > 0 && (k === 0 || i > (at[k - 1] ?? 0))), out);
  const section = (title: string): string => out.slice(out.indexOf(`\n${title}\n`)).split('\n\n')[0] ?? '';
  assert.match(section('Manage running Talos clusters:'), /\n {2}reboot +Reboot a node\n/);
  assert.match(section('Commands to generate and manage machine configuration offline:'), /\n {2}gen +Generate/);
  assert.match(section('Local Talos cluster commands:'), /\n {2}cluster +/);
  for (const flag of ['--talosconfig', '--context', '-e, --endpoints', '-n, --nodes', '--cluster']) assert.ok(section('Flags:').includes(flag), flag);
});

test('talosctl <command> --help: the global flags are shown on every subcommand', async () => {
  for (const argv of [['reboot', '--help'], ['help', 'get'], ['-n', '10.0.0.1', 'etcd', 'members', '--help'], ['gen', 'config', '--help']]) {
    const c = capture();
    assert.equal(await main(argv, c.io), 0, argv.join(' '));
    const out = c.out.join('');
    const globals = out.slice(out.indexOf('Global Options:'));
    assert.ok(out.includes('Global Options:'), `${argv.join(' ')}:\n${out}`);
    for (const flag of ['--talosconfig', '--context', '-e, --endpoints', '-n, --nodes', '--cluster']) assert.ok(globals.includes(flag), `${argv.join(' ')}: ${flag}`);
  }
});

test('every command registry entry matches what its module declares (name, aliases, summary)', async () => {
  const { commandRegistry } = await import('./commands/registry.ts');
  const program = await buildProgram(capture().io);
  for (const e of commandRegistry) {
    const cmd = program.commands.find((c) => c.name() === e.name);
    assert.ok(cmd, e.name);
    assert.equal(cmd.description(), e.summary, e.name);
    assert.deepEqual(cmd.aliases(), [...(e.aliases ?? [])], e.name);
  }
  assert.equal(program.commands.length, commandRegistry.length);
});

test('Go-style booleans: --flag, --flag=true, --flag=false and ParseBool spellings; anything else is refused', async () => {
  const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'talosctl-bool-'));
  try {
    // One secrets bundle for every run: generating keys is what costs time here.
    const secrets = join(dir, 'secrets.yaml');
    assert.equal(await main(['gen', 'secrets', '-o', secrets], capture().io), 0);
    const gen = async (...flags: string[]) => {
      const c = capture();
      const code = await main(['gen', 'config', 'b', 'https://10.5.0.2:6443', '--with-secrets', secrets, '-t', 'controlplane', '-o', join(dir, 'cp.yaml'), '--force', ...flags], c.io);
      return { code, err: c.err.join(''), yaml: code === 0 ? readFileSync(join(dir, 'cp.yaml'), 'utf8') : '' };
    };
    for (const off of ['--with-cluster-discovery=false', '--with-cluster-discovery=0', '--with-cluster-discovery=F', '--no-with-cluster-discovery']) {
      const r = await gen(off, '--with-docs=false', '--with-examples=false');
      assert.equal(r.code, 0, `${off}: ${r.err}`);
      assert.match(r.yaml, /discovery:\n\s+enabled: false/, off);
    }
    for (const on of ['--with-cluster-discovery', '--with-cluster-discovery=true', '--with-cluster-discovery=True', '--with-cluster-discovery=1']) {
      const r = await gen(on, '--force=true');
      assert.equal(r.code, 0, `${on}: ${r.err}`);
      assert.match(r.yaml, /discovery:\n\s+enabled: true/, on);
    }
    const bad = await gen('--with-docs=maybe');
    assert.equal(bad.code, 1);
    assert.equal(bad.err, 'error: invalid argument "maybe" for "--with-docs" flag: strconv.ParseBool: parsing "maybe": invalid syntax\n');
    // A value after a boolean flag stays a positional argument, as with pflag.
    const c = capture();
    assert.equal(await main(['gen', 'config', '--with-docs', 'b', 'https://10.5.0.2:6443', '--with-secrets', secrets, '-t', 'worker', '-o', join(dir, 'w.yaml')], c.io), 0, c.err.join(''));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('talosctl --cluster: a proxy cluster name is refused with the reason, before any call', async () => {
  const c = capture();
  assert.equal(await main(['--cluster', 'prod', '-e', '127.0.0.1', '-n', '127.0.0.1', 'version'], c.io), 1);
  assert.match(c.err.join(''), /^error: --cluster selects a cluster behind a proxy endpoint/);
});
