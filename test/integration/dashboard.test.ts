// Issue 15: `talosctl dashboard` in a real terminal. Two real nodes (machined + apid on loopback),
// talosctl started in a tmux pane on its own tmux server, the screen read back with capture-pane:
// node one's figures, switch to node two, node two killed (an error on screen, no crash, no hang),
// then `q` and the terminal given back (main screen, cursor on, the shell after it running).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateMachineConfigs, generateSecretsBundle, serializeSecretsBundle, toConfigSecrets } from '@talos-ts/machinery';
import { main } from '@talos-ts/talosctl';
import { processesUsing, startNode, tempDir, waitFor, type NodeProcess } from '@talos-ts/testkit';

const ips = ['127.0.0.105', '127.0.0.106'] as const;
const hostnames = ['dash-one', 'dash-two'] as const;
const repo = fileURLToPath(new URL('../..', import.meta.url));
const tmp = tempDir('it-dashboard-');
const socket = join(tmp.dir, 'tmux.sock');
const session = 'dashboard';
const nodes: NodeProcess[] = [];
let talosconfig = '';
let tmuxStarted = false;

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-S', socket, ...args], { encoding: 'utf8', timeout: 10_000 });
}

function screen(): string {
  return tmux('capture-pane', '-p', '-t', session);
}

/** Polls the pane until `want` matches; fails with the last screen so a failure shows what was there. */
async function waitScreen(want: RegExp, what: string, timeoutMs = 30_000): Promise<string> {
  let last = '';
  try {
    await waitFor(what, () => {
      last = screen();
      return want.test(last);
    }, timeoutMs);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- screen ---\n${last}`);
  }
  return last;
}

async function talosctl(...args: string[]): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const io = { out: (t: string) => void out.push(t), err: (t: string) => void out.push(t) };
  const code = await main(['--talosconfig', talosconfig, ...args], io);
  return { code, out: out.join('') };
}

before(async () => {
  const bundle = await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' });
  const g = generateMachineConfigs({ clusterName: 'it-dash', endpoint: `https://${ips[0]}:6443`, withClusterDiscovery: false, secrets: toConfigSecrets(bundle) });
  writeFileSync(join(tmp.dir, 'controlplane.yaml'), g.controlplane.toYaml());
  writeFileSync(join(tmp.dir, 'secrets.yaml'), serializeSecretsBundle(bundle));
  talosconfig = join(tmp.dir, 'talosconfig');
  const gen = await talosctl('gen', 'config', 'it-dash', `https://${ips[0]}:6443`, '-t', 'talosconfig', '-o', talosconfig, '--with-secrets', join(tmp.dir, 'secrets.yaml'));
  assert.equal(gen.code, 0, gen.out);
  nodes.push(...(await Promise.all(ips.map((ip) => startNode(ip, join(tmp.dir, ip))))));
  for (const [i, ip] of ips.entries()) {
    const patch = JSON.stringify({ machine: { network: { hostname: hostnames[i] } } });
    const r = await talosctl('apply-config', '--insecure', '-n', ip, '-f', join(tmp.dir, 'controlplane.yaml'), '-p', patch);
    assert.equal(r.code, 0, r.out);
  }
  for (const ip of ips) await waitFor(`apid on ${ip}`, async () => (await talosctl('-e', ip, '-n', ip, 'version')).code === 0, 60_000);
});

after(async () => {
  if (tmuxStarted) {
    try {
      tmux('kill-server');
    } catch {
      // already gone
    }
  }
  for (const n of nodes) await n.stop();
  for (const n of nodes) assert.deepEqual(processesUsing(n.dir), [], `processes left behind by ${n.address}`);
  tmp.remove();
});

test('talosctl dashboard in tmux: node one shown, switch to node two, node two killed shows an error, q restores the terminal', async () => {
  // The pane runs talosctl as a user would (its bin), then says how it exited and stays open.
  const cli = `${JSON.stringify(process.execPath)} ${JSON.stringify(join(repo, 'packages/talosctl/bin/talosctl.js'))}`;
  const args = `--talosconfig ${JSON.stringify(talosconfig)} -e ${ips[0]} -n ${ips.join(',')} dashboard --update-interval 1s`;
  tmux('-f', '/dev/null', 'new-session', '-d', '-s', session, '-x', '120', '-y', '36', '-c', repo, `${cli} ${args}; echo "EXITED:$?"; exec sleep 600`);
  tmuxStarted = true;

  // Node one: hostname, version and the figures of a second poll (CPU needs two samples).
  let s = await waitScreen(/dash-one Talos-TS \(v[^)]+\): uptime \S+, \d+x(?:[\d.]+[GM]Hz|CPU), .* RAM, PROCS \d+, CPU \d+\.\d%, RAM \d+\.\d%/, 'node one summary', 60_000);
  assert.match(s, new RegExp(`\\[${ips[0]} \\| ${ips[1]}\\] --- \\[Summary\\] --- \\[F2: Monitor\\]`));
  assert.match(s, /HOSTNAME\s+dash-one/);
  assert.match(s, /apid\s+Running/);
  assert.equal(tmux('display-message', '-p', '-t', session, '#{alternate_on} #{cursor_flag}').trim(), '1 0', 'alternate screen, cursor hidden');
  // A resized terminal (SIGWINCH) is redrawn to its new size: the log title spans it, the footer is on its last row.
  tmux('resize-window', '-t', session, '-x', '90', '-y', '30');
  // Both the log title and the footer: a screen captured mid-redraw can have one without the other.
  s = await waitScreen(/^── machined logs ─{73}$[\s\S]*^\[127\.0\.0\.105 \| 127\.0\.0\.106\]/m, 'screen redrawn at 90 columns');
  const rows = s.replace(/\n$/, '').split('\n');
  assert.equal(rows.length, 30);
  assert.equal(rows.find((l) => l.startsWith('── machined logs'))?.length, 90);
  assert.match(rows[29] ?? '', /^\[127\.0\.0\.105 \| 127\.0\.0\.106\]/);
  // The log pane shows machined's log (its JSON records as time, level, message, fields).
  await waitScreen(/── machined logs ─+\n[\s\S]*\d\d:\d\d:\d\d\.\d+Z info Health check successful service=apid/, 'machined log lines', 30_000);
  // …and follows it: a service restarted now shows up in the pane.
  const restart = await talosctl('-e', ips[0], '-n', ips[0], 'service', 'trustd', 'restart');
  assert.equal(restart.code, 0, restart.out);
  await waitScreen(/info Stopping service service=trustd/, 'a new log line followed', 30_000);

  // The monitor screen, then back.
  tmux('send-keys', '-t', session, 'F2');
  s = await waitScreen(/CPU USAGE\s+MEM USAGE/, 'monitor screen');
  assert.match(s, /PID STATE THREADS\s+CPU%\s+RSS COMMAND/);
  tmux('send-keys', '-t', session, 'F1');
  await waitScreen(/── machined logs/, 'summary screen again');

  // Switch node: `l` as upstream (→ works too, tested in the unit tests).
  tmux('send-keys', '-t', session, 'l');
  s = await waitScreen(/dash-two Talos-TS \(v[^)]+\)/, 'node two summary');
  assert.match(s, /HOSTNAME\s+dash-two/);

  // Node two goes away: its screen says so, and the dashboard keeps running.
  await nodes[1]?.stop();
  s = await waitScreen(new RegExp(`\\[unreachable\\][\\s\\S]*✗ ${ips[1].replace(/\./g, '\\.')}: `), 'node two error', 30_000);
  tmux('send-keys', '-t', session, 'h');
  s = await waitScreen(/dash-one Talos-TS/, 'node one again');
  assert.doesNotMatch(s.split('\n')[0] ?? '', /unreachable/);
  assert.doesNotMatch(s, /EXITED/);

  // q: the process exits 0, the main screen is back with the cursor on.
  tmux('send-keys', '-t', session, 'q');
  s = await waitScreen(/EXITED:\d+/, 'talosctl exit', 15_000);
  assert.match(s, /EXITED:0/);
  assert.doesNotMatch(s, /Talos-TS|machined logs/, 'the dashboard is gone from the main screen');
  assert.equal(tmux('display-message', '-p', '-t', session, '#{alternate_on} #{cursor_flag}').trim(), '0 1', 'main screen, cursor shown');
});
