import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '@talos-ts/testkit';
import { main } from '../../main.ts';

test('talosctl docs DIR: cli.md has one section per command with usage, options and inherited globals', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'talosctl-docs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const r = await runCli(main, ['docs', dir, '--cli']);
  assert.equal(r.code, 0, r.err);
  assert.equal(existsSync(join(dir, 'v1alpha1')), false, '--cli alone writes no config reference');
  const md = readFileSync(join(dir, 'cli.md'), 'utf8');
  assert.match(md, /^---\ndescription: Talosctl CLI tool reference\.\ntitle: CLI\n---\n/);
  const section = md.slice(md.indexOf('## talosctl logs\n'), md.indexOf('\n## ', md.indexOf('## talosctl logs\n')));
  assert.match(section, /^## talosctl logs\n\nRetrieve logs for a service\n/);
  assert.match(section, /```\ntalosctl logs \[options\] <service>\n```/);
  assert.match(section, /### Options\n\n```\n(.*\n)*\s+-f, --follow\s+specify if the logs should be streamed\n/);
  assert.match(section, /### Options inherited from parent commands\n\n```\n(.*\n)*\s+-n, --nodes <nodes>/);
  assert.match(section, /\* \[talosctl\]\(#talosctl\)\t - /);
  // children come before their parent, the root last, and hidden commands are left out
  assert.ok(md.indexOf('## talosctl config add\n') < md.indexOf('## talosctl config\n'));
  assert.match(md, /\n## talosctl\n[^]*$/);
  assert.doesNotMatch(md, /## talosctl (docs|__complete)\n/);
});

test('talosctl docs DIR: without --cli/--config writes both; the config reference lists v1alpha1 fields', async (t) => {
  const dir = join(mkdtempSync(join(tmpdir(), 'talosctl-docs-')), 'nested', 'out');
  t.after(() => rmSync(join(dir, '..', '..'), { recursive: true, force: true }));
  const r = await runCli(main, ['docs', dir]);
  assert.equal(r.code, 0, r.err);
  assert.ok(existsSync(join(dir, 'cli.md')));
  const cfg = readFileSync(join(dir, 'v1alpha1', 'config.md'), 'utf8');
  assert.match(cfg, /\n## Config\.cluster\.controlPlane\n/);
  assert.match(cfg, /\| `endpoint` \| string \| /);
});

test('talosctl docs: an output path under a regular file fails with the path named', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'talosctl-docs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const r1 = await runCli(main, ['docs', join(dir, 'x'), '--cli']);
  assert.equal(r1.code, 0, r1.err);
  const r = await runCli(main, ['docs', join(dir, 'x', 'cli.md', 'sub')]);
  assert.equal(r.code, 1);
  assert.match(r.err, /failed to generate docs in ".*cli\.md\/sub"/);
});
