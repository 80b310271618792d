// The talosctl a user runs: the checkout's bin (npx talosctl), which runs the bundle and rebuilds
// it when a source changed, and the npm tarball, which installs offline with everything inside.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@talos-ts/testkit';

const root = new URL('../..', import.meta.url).pathname;
const bin = join(root, 'packages/talosctl/bin/talosctl.js');

function run(file: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [file, ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('npx talosctl: runs the stamped bundle, rebuilds it once a source it was built from changes, and leaves a code cache', () => {
  const first = run(bin, ['version', '--client']);
  assert.equal(first.code, 0, first.err);
  const inputs = (JSON.parse(readFileSync(join(root, 'dist/talosctl.inputs.json'), 'utf8')) as { inputs: string[] }).inputs;
  const source = inputs.find((f) => f.endsWith('talosctl/src/commands/version/version.ts'));
  assert.ok(source, 'the version command is one of the bundle inputs');
  // Now, not a future time: the rebuilt bundle must come out newer than the source, however fast
  // the build (a source stamped 2 s ahead stayed newer than a bundle built in 1.4 s).
  const now = new Date();
  utimesSync(join(root, source), now, now);
  const rebuilt = run(bin, ['version', '--client']);
  assert.equal(rebuilt.code, 0, rebuilt.err);
  assert.match(rebuilt.err, new RegExp(`^talosctl: building dist/talosctl\\.cjs \\(${source.replace(/[./]/g, '\\$&')} changed\\)\\n`));
  const sha = execFileSync('git', ['rev-parse', '--short=8', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  assert.match(rebuilt.out, new RegExp(`^Client:\\n\\tTag:\\s+v\\d+\\.\\d+\\.\\d+\\n\\tSHA:\\s+${sha}(-dirty)?\\n\\tBuilt:\\s+\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\\n`));
  const again = run(bin, ['--help']);
  assert.equal(again.code, 0, again.err);
  assert.equal(again.err, '', 'no rebuild when nothing changed');
  assert.ok(existsSync(join(root, 'dist/talosctl.cjs.cache')), 'a code cache beside the bundle');
});

test('talosctl --help, -h and help print, without loading the bundle, exactly what the bundle prints', () => {
  const fromBundle = spawnSync(process.execPath, [join(root, 'dist/talosctl.cjs'), '--help'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(fromBundle.status, 0, fromBundle.stderr);
  assert.match(fromBundle.stdout, /\nManage running Talos clusters:\n/);
  // A package laid out as npm installs it, whose bundle throws when it is loaded.
  const tmp = tempDir('talosctl-help-');
  try {
    mkdirSync(join(tmp.dir, 'bin'));
    mkdirSync(join(tmp.dir, 'dist'));
    copyFileSync(bin, join(tmp.dir, 'bin/talosctl.js'));
    copyFileSync(join(root, 'packages/talosctl/bin/package.json'), join(tmp.dir, 'bin/package.json'));
    copyFileSync(join(root, 'dist/talosctl.help.txt'), join(tmp.dir, 'dist/talosctl.help.txt'));
    writeFileSync(join(tmp.dir, 'dist/talosctl.cjs'), "throw new Error('the bundle was loaded');\n");
    for (const form of ['--help', '-h', 'help']) {
      const r = run(join(tmp.dir, 'bin/talosctl.js'), [form]);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, fromBundle.stdout, `talosctl ${form}`);
    }
    const other = run(join(tmp.dir, 'bin/talosctl.js'), ['version', '--client']);
    assert.notEqual(other.code, 0);
    assert.match(other.err, /the bundle was loaded/, 'any other command runs the bundle');
  } finally {
    tmp.remove();
  }
});

test('the code cache is written again after the first run of each new command and flag set, and then left alone', () => {
  const tmp = tempDir('talosctl-cache-');
  try {
    mkdirSync(join(tmp.dir, 'bin'));
    mkdirSync(join(tmp.dir, 'dist'));
    copyFileSync(bin, join(tmp.dir, 'bin/talosctl.js'));
    copyFileSync(join(root, 'packages/talosctl/bin/package.json'), join(tmp.dir, 'bin/package.json'));
    copyFileSync(join(root, 'dist/talosctl.cjs'), join(tmp.dir, 'dist/talosctl.cjs'));
    const talosctl = join(tmp.dir, 'bin/talosctl.js');
    const cache = join(tmp.dir, 'dist/talosctl.cjs.cache');
    const covers = (): string[] => readFileSync(`${cache}.covers`, 'utf8').split('\n');
    assert.equal(run(talosctl, ['version', '--client']).code, 0);
    const first = statSync(cache);
    assert.deepEqual(covers(), ['version --client']);
    assert.equal(run(talosctl, ['version', '--client']).code, 0);
    assert.equal(statSync(cache).ino, first.ino, 'a covered run leaves the cache alone');
    assert.equal(run(talosctl, ['-n', '10.5.0.2', 'version', '--short', '--client']).code, 0);
    assert.notEqual(statSync(cache).ino, first.ino, 'a new command and flag set writes it again');
    assert.deepEqual(covers(), ['version --client', 'version --client --short']);
  } finally {
    tmp.remove();
  }
});

test('npm pack of talosctl installs offline into a fresh prefix with a working talosctl and no dependencies', () => {
  const tmp = tempDir('talosctl-pack-');
  try {
    const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', tmp.dir], { cwd: join(root, 'packages/talosctl'), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as {
      filename: string;
      files: { path: string }[];
    }[];
    const files = packed[0]?.files.map((f) => f.path).sort();
    assert.deepEqual(files, ['bin/package.json', 'bin/talosctl.js', 'dist/talosctl.cjs', 'dist/talosctl.help.txt', 'package.json']);
    assert.equal(existsSync(join(root, 'packages/talosctl/dist')), false, 'postpack removes the copy');
    const prefix = join(tmp.dir, 'prefix');
    execFileSync('npm', ['i', '-g', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', join(tmp.dir, packed[0]?.filename ?? '')], { stdio: 'ignore', timeout: 120_000 });
    const manifest = JSON.parse(readFileSync(join(prefix, 'lib/node_modules/@talos-ts/talosctl/package.json'), 'utf8')) as { dependencies?: unknown };
    assert.equal(manifest.dependencies, undefined);
    const talosctl = join(prefix, 'bin/talosctl');
    const v = spawnSync(talosctl, ['version', '--client'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(v.status, 0, v.stderr);
    assert.match(v.stdout, /^Client:\n\tTag:\s+v\d/);
    assert.doesNotMatch(v.stdout, /SHA:\s+dev/);
    const help = spawnSync(talosctl, ['--help'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /\nManage running Talos clusters:\n/);
  } finally {
    tmp.remove();
  }
});
