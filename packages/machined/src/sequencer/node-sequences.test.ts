import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import type { Any } from '@bufbuild/protobuf/wkt';
import { nullLogger } from '@talos-ts/cosi';
import { commonPb, generateMachineConfigs, generateSecretsBundle, machinePb, toConfigSecrets } from '@talos-ts/machinery';
import type { EventBus } from '../events/bus.ts';
import { TalosNode } from '../node.ts';

// The node's sequences end to end on the container platform: real state, controllers, supervisor
// and sockets; apid and trustd are stood in for by an idle process (they have their own suites).
const idle = [process.execPath, '-e', 'setInterval(() => {}, 1000)'];
const bundle = await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' });

let host = 1;
async function configuredNode(t: { after: (fn: () => Promise<void>) => void }) {
  const address = `127.0.20.${host++}`;
  const dir = mkdtempSync(join(tmpdir(), 'machined-seq-'));
  const g = generateMachineConfigs({ clusterName: 'seq', endpoint: `https://${address}:6443`, withClusterDiscovery: false, secrets: toConfigSecrets(bundle) });
  writeFileSync(join(dir, 'config.yaml'), g.worker.toYaml());
  const node = new TalosNode({ platform: 'container', stateDir: dir, address, logger: nullLogger, apidCommand: idle, trustdCommand: idle, restartIntervalMs: 200 });
  t.after(async () => {
    await node[Symbol.asyncDispose]();
    rmSync(dir, { recursive: true, force: true });
  });
  await node.start();
  return node;
}

/** Sequence and phase events so far, as `sequence NAME ACTION[ CODE]` and `  phase NAME ACTION` lines. */
async function outline(events: EventBus): Promise<string[]> {
  const ac = new AbortController();
  const out: string[] = [];
  const timer = setTimeout(() => ac.abort(), 50);
  for await (const e of events.subscribe({ signal: ac.signal, tailEvents: -1 })) {
    const any = e.payload as Any;
    if (e.type === 'machine.SequenceEvent') {
      const s = fromBinary(machinePb.SequenceEventSchema, any.value);
      out.push(`sequence ${s.sequence} ${machinePb.SequenceEvent_Action[s.action]}${s.error ? ` ${commonPb.Code[s.error.code]}` : ''}`);
    } else if (e.type === 'machine.PhaseEvent') {
      const p = fromBinary(machinePb.PhaseEventSchema, any.value);
      if (p.action === machinePb.PhaseEvent_Action.START) out.push(`  phase ${p.phase}`);
    } else if (e.type === 'machine.TaskEvent') {
      const k = fromBinary(machinePb.TaskEventSchema, any.value);
      if (k.action === machinePb.TaskEvent_Action.START) out.push(`    task ${k.task}`);
    }
  }
  clearTimeout(timer);
  return out;
}

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const bootOutline = [
  'sequence initialize START',
  '  phase machined',
  '    task startMachined',
  '  phase config',
  '    task loadConfig',
  'sequence initialize STOP',
  'sequence boot START',
  '  phase config',
  '    task activateConfig',
  '  phase startEverything',
  '    task startAllServices',
  'sequence boot STOP',
];

test('TalosNode sequences: a configured boot, then a reboot, publish upstream-named sequences, phases and tasks in order', async (t) => {
  const node = await configuredNode(t);
  assert.deepEqual(await outline(node.events), bootOutline);
  const before = node.supervisor;
  await node.reboot();
  await until('booted again', () => node.supervisor !== undefined && node.supervisor !== before);
  assert.deepEqual(await outline(node.events), [
    ...bootOutline,
    'sequence reboot START',
    '  phase stopEverything',
    '    task stopAllServices',
    '  phase reboot',
    '    task reboot',
    'sequence reboot STOP',
    ...bootOutline,
  ]);
});

test('TalosNode sequences: a reboot asked during a reboot takes it over; the node boots once, and the first reports CANCELED', async (t) => {
  const node = await configuredNode(t);
  const before = node.supervisor;
  await Promise.all([node.reboot(), node.reboot()]);
  await until('booted again', () => node.supervisor !== undefined && node.supervisor !== before);
  // Let a second boot, if one were wrongly started, show up in the events.
  await new Promise((r) => setTimeout(r, 300));
  const lines = (await outline(node.events)).filter((l) => l.startsWith('sequence'));
  assert.deepEqual(lines.slice(bootOutline.filter((l) => l.startsWith('sequence')).length), [
    'sequence reboot START',
    'sequence reboot STOP',
    'sequence reboot NOOP CANCELED',
    'sequence reboot START',
    'sequence reboot STOP',
    'sequence initialize START',
    'sequence initialize STOP',
    'sequence boot START',
    'sequence boot STOP',
  ]);
});

test('TalosNode sequences: a reset asked while a reboot runs is refused as locked, and the reboot goes on', async (t) => {
  const node = await configuredNode(t);
  const before = node.supervisor;
  const reboot = node.reboot();
  await assert.rejects(node.reset({ graceful: false, reboot: true }), (e) => (e as Error).name === 'SequenceLockedError' && /reset sequence not started: the reboot sequence is running/.test((e as Error).message));
  await reboot;
  await until('booted again', () => node.supervisor !== undefined && node.supervisor !== before);
  assert.equal(node.inMaintenance, false, 'the config was not wiped');
  assert.ok((await outline(node.events)).includes('sequence reset NOOP LOCKED'));
});
