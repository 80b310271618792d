// Issue 13 (VIP): three process-backed control planes share machine.network.interfaces[].vip.ip.
// The holder is elected through etcd; when it reboots or shuts down another control plane takes the
// address and the API answers on it again. Prints how long the failover took.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '@talos-ts/talosctl';
import { runCli, tempDir } from '@talos-ts/testkit';

const isRoot = process.getuid?.() === 0;
const skip = !isRoot ? 'needs root: the process provisioner creates network namespaces' : false;

const name = 'tvip';
const cidr = '10.5.0.0/24';
const vip = '10.5.0.50';
const tmp = tempDir('tvip-');
const stateRoot = join(tmp.dir, 'clusters');
const talosconfig = join(tmp.dir, 'talosconfig');
const talosctl = (...args: string[]) => runCli(main, ['--talosconfig', talosconfig, ...args]);
const nodeNs = (i: number): string => `talos-${name}-controlplane-${i}`;

after(async () => {
  if (!skip) await talosctl('cluster', 'destroy', '--name', name, '--state', stateRoot);
  tmp.remove();
});

/** The control planes (1-based) whose eth0 carries the VIP now. */
function holders(): number[] {
  const out: number[] = [];
  for (const i of [1, 2, 3]) {
    try {
      if (execFileSync('ip', ['-n', nodeNs(i), '-4', '-o', 'addr', 'show', 'dev', 'eth0'], { encoding: 'utf8' }).includes(` ${vip}/32 `)) out.push(i);
    } catch {
      // a namespace being torn down
    }
  }
  return out;
}

/** Whether a TLS server answers on VIP:50000, seen from the cluster network (not from a node). */
function apiAnswersOnVip(): boolean {
  const probe = `const s=require('node:tls').connect({host:'${vip}',port:50000,rejectUnauthorized:false,ALPNProtocols:['h2']},()=>{process.stdout.write(s.getPeerCertificate().subject?'ok':'no');process.exit(0)});s.on('error',()=>process.exit(1));setTimeout(()=>process.exit(1),2000)`;
  try {
    return execFileSync('ip', ['netns', 'exec', `talos-${name}`, process.execPath, '-e', probe], { encoding: 'utf8', timeout: 5000 }) === 'ok';
  } catch {
    return false;
  }
}

async function until(what: string, check: () => boolean, timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (check()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('vip: 3 control planes share a VIP → exactly one holds it → its holder reboots, then the next shuts down → another takes it and the API answers there again → removing it from the new holder config hands it to the third', { skip, timeout: 180_000 }, async () => {
  const patch = JSON.stringify({ machine: { network: { interfaces: [{ interface: 'eth0', vip: { ip: vip } }] } } });
  const created = await talosctl('cluster', 'create', '--name', name, '--state', stateRoot, '--cidr', cidr, '--controlplanes', '3', '--workers', '0', '--wait-timeout', '90s', '--config-patch-control-plane', patch);
  assert.equal(created.code, 0, `${created.out}\n${created.err}`);

  await until('a VIP holder', () => holders().length === 1, 30_000);
  // Held by one node only, and steadily so (no flapping while the others campaign).
  for (let i = 0; i < 10; i++) {
    assert.equal(holders().length, 1, `holders: ${holders().join(', ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const first = holders()[0]!;
  await until('the API on the VIP', apiAnswersOnVip, 10_000);
  // The holder publishes the VIP as an operator-layer AddressSpec, merged into network, as upstream.
  const raw = await talosctl('-n', `10.5.0.${first + 1}`, 'get', 'addressspecs', '--namespace', 'network-config');
  assert.match(raw.out, new RegExp(`vip/eth0/eth0/${vip.replaceAll('.', '\\.')}/32\\s`), raw.out + raw.err);
  const merged = await talosctl('-n', `10.5.0.${first + 1}`, 'get', 'addressspecs', '-o', 'yaml');
  assert.match(merged.out, new RegExp(`address: ${vip.replaceAll('.', '\\.')}/32[\\s\\S]*?announceWithARP: true[\\s\\S]*?layer: operator`), merged.out + merged.err);
  // etcd advertises each node's own address from NodeAddress, never the VIP its holder carries.
  for (const i of [1, 2, 3]) {
    const spec = await talosctl('-n', `10.5.0.${i + 1}`, 'get', 'etcdspecs', '-o', 'yaml');
    assert.match(spec.out, new RegExp(`advertisedAddresses:\\s*- 10\\.5\\.0\\.${i + 1}\\n`), spec.out + spec.err);
    assert.doesNotMatch(spec.out, new RegExp(vip.replaceAll('.', '\\.')));
  }

  // A reboot releases the address before etcd stops, so another control plane takes it at once.
  const rebootedAt = Date.now();
  const rebooted = await talosctl('-n', `10.5.0.${first + 1}`, 'reboot', '--wait=false');
  assert.equal(rebooted.code, 0, rebooted.err);
  await until('the VIP to leave the rebooting node', () => {
    const h = holders();
    return h.length === 1 && h[0] !== first;
  }, 30_000);
  const rebootMoveMs = Date.now() - rebootedAt;
  // Three healthy etcd members again before the next holder goes (quorum needs two of three).
  const health = await talosctl('health', '--state', stateRoot, '--wait-timeout', '60s');
  assert.equal(health.code, 0, `${health.out}\n${health.err}`);
  const holder = holders()[0]!;

  // Shut the holder down as the provisioner stops a node: SIGTERM to its machined.
  const state = JSON.parse(readFileSync(join(stateRoot, name, 'state.json'), 'utf8')) as { nodes: { name: string; pid?: number }[] };
  const pid = state.nodes.find((n) => n.name === `${name}-controlplane-${holder}`)?.pid;
  assert.ok(pid, 'holder pid');
  const stoppedAt = Date.now();
  process.kill(pid, 'SIGTERM');
  await until('another holder', () => {
    const h = holders();
    return h.length === 1 && h[0] !== holder;
  }, 60_000);
  const movedMs = Date.now() - stoppedAt;
  // The new holder's gratuitous ARP moves the bridge side's neighbour entry to its MAC without a
  // new ARP query (the entry exists from the API probe above, so the announcement updates it).
  const mac = (ns: string, args: string[]): string => /(?:lladdr|link\/ether) ([0-9a-f:]{17})/.exec(execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8' }))?.[1] ?? '';
  const newMac = mac(nodeNs(holders()[0]!), ['link', 'show', 'eth0']);
  assert.notEqual(newMac, mac(nodeNs(holder), ['link', 'show', 'eth0']));
  await until('the gratuitous ARP to reach the bridge', () => mac(`talos-${name}`, ['neigh', 'show', vip]) === newMac, 2000);
  await until('the API on the VIP again', apiAnswersOnVip, 20_000);
  const answeredMs = Date.now() - stoppedAt;
  process.stderr.write(`# VIP failover: on reboot moved off controlplane-${first} in ${rebootMoveMs} ms (incl. the reboot call); on shutdown moved off controlplane-${holder} to controlplane-${holders()[0]} in ${movedMs} ms, API answered on ${vip} after ${answeredMs} ms\n`);
  assert.deepEqual(
    holders().filter((h) => h === holder),
    [],
    'the old holder released the address',
  );

  // Removing the VIP from the holder's config (no reboot) releases it; the last control plane takes it.
  const second = holders()[0]!;
  const patched = await talosctl('-n', `10.5.0.${second + 1}`, 'patch', 'mc', '--mode', 'no-reboot', '-p', '[{"op":"remove","path":"/machine/network/interfaces"}]');
  assert.equal(patched.code, 0, patched.err);
  const third = [1, 2, 3].find((i) => i !== holder && i !== second)!;
  await until('the third control plane to take the VIP', () => holders().join() === String(third), 20_000);
});
