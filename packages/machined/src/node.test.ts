import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Code, hasCode, nullLogger } from '@talos-ts/cosi';
import {
  ActiveMachineConfigId,
  MachineConfigType,
  MachineTypeType,
  NamespaceName,
  createGrpcClient,
  cosiStatePb,
  applyPatches,
  generateMachineConfigs,
  loadConfig,
  parsePatch,
  generateSecretsBundle,
  machinePb,
  toConfigSecrets,
  type MachineConfigSpec,
} from '@talos-ts/machinery';
import { assertResources } from '@talos-ts/testkit';
import { TalosNode } from './node.ts';

const Mode = machinePb.ApplyConfigurationRequest_Mode;

// apid and trustd are separate packages with their own tests; here a long-running Node process
// stands in for them so the node's own behaviour is tested in isolation.
const idle = [process.execPath, '-e', 'setInterval(() => {}, 1000)'];

const bundle = await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' });
function configs(endpoint: string) {
  const g = generateMachineConfigs({ clusterName: 'unit', endpoint, withClusterDiscovery: false, secrets: toConfigSecrets(bundle) });
  return { controlplane: g.controlplane.toYaml(), worker: g.worker.toYaml() };
}

let port = 60;
async function startNode(t: { after: (fn: () => Promise<void>) => void }, options: { lifetimeMs?: number } = {}) {
  const address = `127.0.0.${port++}`;
  const dir = mkdtempSync(join(tmpdir(), 'machined-node-'));
  const node = new TalosNode({
    platform: 'container',
    stateDir: dir,
    address,
    logger: nullLogger,
    apidCommand: idle,
    trustdCommand: idle,
    restartIntervalMs: 200,
    ...(options.lifetimeMs ? { apiCertLifetimeMs: options.lifetimeMs } : {}),
  });
  await node.start();
  t.after(async () => {
    await node[Symbol.asyncDispose]();
    rmSync(dir, { recursive: true, force: true });
  });
  const cfg = configs(`https://${address}:6443`);
  const socket = (roles = 'os:admin') => {
    const md = { 'talos-role': roles };
    const machine = createGrpcClient(machinePb.MachineService, `unix:${node.paths.machinedSocket}`);
    const state = createGrpcClient(cosiStatePb.State, `unix:${node.paths.machinedSocket}`);
    t.after(async () => {
      machine.close();
      state.close();
    });
    return { machine, state, md };
  };
  return { node, address, dir, cfg, socket };
}

function maintenanceClient(address: string) {
  return createGrpcClient(machinePb.MachineService, `${address}:50000`, { tls: { insecureSkipVerify: true } });
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const activeYaml = (node: TalosNode) =>
  node.state.find<MachineConfigSpec>({ namespace: NamespaceName.config, type: MachineConfigType, id: ActiveMachineConfigId })?.spec.yaml;

test('TalosNode: without a config it waits in maintenance mode and serves only the maintenance API', async (t) => {
  const { node, address } = await startNode(t);
  assert.ok(node.inMaintenance);
  const c = maintenanceClient(address);
  t.after(() => c.close());
  const v = await c.version({}, { timeoutMs: 5000 });
  assert.equal(v.messages[0]?.platform?.name, 'container');
  await assert.rejects(c.reboot({}, { timeoutMs: 5000 }), (e) => hasCode(e, Code.PermissionDenied) && /maintenance mode/.test((e as Error).message));
});

test('TalosNode: a bad config is refused in maintenance mode with the validation error, and the node keeps waiting', async (t) => {
  const { node, address } = await startNode(t);
  const c = maintenanceClient(address);
  t.after(() => c.close());
  await assert.rejects(
    c.applyConfiguration({ data: Buffer.from('version: v1alpha1\nmachine:\n  tpye: worker\n'), mode: Mode.AUTO }, { timeoutMs: 5000 }),
    (e) => hasCode(e, Code.InvalidArgument) && /unknown field "tpye"/.test((e as Error).message),
  );
  assert.ok(node.inMaintenance);
  assert.ok(!existsSync(node.paths.config));
});

test('TalosNode: apply-config in maintenance mode persists the config, boots, starts services and issues API certificates', async (t) => {
  const { node, address, cfg } = await startNode(t);
  const c = maintenanceClient(address);
  t.after(() => c.close());
  const r = await c.applyConfiguration({ data: Buffer.from(cfg.controlplane), mode: Mode.AUTO }, { timeoutMs: 10_000 });
  assert.match(r.messages[0]?.modeDetails ?? '', /leaving maintenance mode/);
  await until('boot', () => !node.inMaintenance && node.supervisor !== undefined);
  assert.equal(readFileSync(node.paths.config, 'utf8'), cfg.controlplane);
  await assertResources(node.state, { namespace: NamespaceName.config, type: MachineTypeType }, { ids: ['machine-type'], check: (r) => assert.deepEqual(r.spec, { machineType: 'controlplane' }) });
  await until('apid and trustd running', () => ['apid', 'trustd'].every((id) => node.supervisor?.get(id).state === 'Running'));
  await until('certificate files', () => ['server.crt', 'server.key', 'client.crt', 'ca.crt'].every((f) => existsSync(join(node.paths.apiCertsDir, f))));
  assert.ok(existsSync(join(node.paths.trustdCertsDir, 'token')));
});

async function booted(t: { after: (fn: () => Promise<void>) => void }, options: { lifetimeMs?: number } = {}) {
  const n = await startNode(t, options);
  const c = maintenanceClient(n.address);
  await c.applyConfiguration({ data: Buffer.from(n.cfg.controlplane), mode: Mode.AUTO }, { timeoutMs: 10_000 });
  c.close();
  await until('boot', () => !n.node.inMaintenance && activeYaml(n.node) !== undefined);
  return n;
}

function withHostname(yaml: string, name: string): string {
  const cfg = loadConfig(yaml, { filename: 'base' });
  const patch = parsePatch(`machine:\n  network:\n    hostname: ${name}\n`, { name: 'hostname-patch' });
  if (cfg.error || patch.error) throw cfg.error ?? patch.error;
  const out = applyPatches(cfg.value, [patch.value]);
  if (out.error) throw out.error;
  return out.value.toYaml();
}

test('TalosNode: the machine socket authorizes by talos-role and hides sensitive resources from non-admins', async (t) => {
  const n = await booted(t);
  const admin = n.socket('os:admin');
  const reader = n.socket('os:reader');
  const none = createGrpcClient(machinePb.MachineService, `unix:${n.node.paths.machinedSocket}`);
  t.after(() => none.close());
  const v = await reader.machine.version({}, { metadata: reader.md, timeoutMs: 5000 });
  assert.ok(v.messages[0]?.version?.tag);
  await assert.rejects(none.version({}, { timeoutMs: 5000 }), (e) => hasCode(e, Code.PermissionDenied));
  await assert.rejects(
    reader.machine.applyConfiguration({ data: Buffer.from(n.cfg.controlplane), mode: Mode.NO_REBOOT }, { metadata: reader.md, timeoutMs: 5000 }),
    (e) => hasCode(e, Code.PermissionDenied),
  );
  const get = { namespace: 'config', type: MachineConfigType, id: ActiveMachineConfigId };
  await assert.rejects(reader.state.get(get, { metadata: reader.md, timeoutMs: 5000 }), (e) => hasCode(e, Code.PermissionDenied) && /sensitive/.test((e as Error).message));
  const mc = await admin.state.get(get, { metadata: admin.md, timeoutMs: 5000 });
  assert.match(mc.resource?.spec?.yamlSpec ?? '', /^version: v1alpha1/m);
  const svc = await reader.state.get({ namespace: 'runtime', type: 'Services.v1alpha1.talos.dev', id: 'apid' }, { metadata: reader.md, timeoutMs: 5000 });
  assert.match(svc.resource?.spec?.yamlSpec ?? '', /running:/);
});

test('TalosNode: an invalid config is rejected with the validation error and the running config is unchanged', async (t) => {
  const n = await booted(t);
  const { machine, md } = n.socket();
  const before = activeYaml(n.node);
  const broken = n.cfg.controlplane.replace(/dnsDomain: .*/, 'dnsDomain: "not a domain!"');
  await assert.rejects(
    machine.applyConfiguration({ data: Buffer.from(broken), mode: Mode.NO_REBOOT }, { metadata: md, timeoutMs: 5000 }),
    (e) => hasCode(e, Code.InvalidArgument) && /cluster\.network\.dnsDomain/.test((e as Error).message),
  );
  assert.equal(activeYaml(n.node), before);
  assert.equal(readFileSync(n.node.paths.config, 'utf8'), before);
});

test('TalosNode: dry-run reports the diff and changes nothing; no-reboot applies live', async (t) => {
  const n = await booted(t);
  const { machine, md } = n.socket();
  const next = withHostname(n.cfg.controlplane, 'renamed');
  const dry = await machine.applyConfiguration({ data: Buffer.from(next), mode: Mode.NO_REBOOT, dryRun: true }, { metadata: md, timeoutMs: 5000 });
  assert.match(dry.messages[0]?.modeDetails ?? '', /^\+.*hostname: renamed/m);
  assert.equal(activeYaml(n.node), n.cfg.controlplane);
  const live = await machine.applyConfiguration({ data: Buffer.from(next), mode: Mode.AUTO }, { metadata: md, timeoutMs: 5000 });
  assert.equal(live.messages[0]?.mode, Mode.NO_REBOOT);
  assert.equal(activeYaml(n.node), next);
  const hn = await machine.hostname({}, { metadata: md, timeoutMs: 5000 });
  await until('hostname', async () => (await machine.hostname({}, { metadata: md, timeoutMs: 5000 })).messages[0]?.hostname === 'renamed');
  assert.ok(hn.messages[0]);
});

test('TalosNode: try mode applies live and reverts by itself after its timeout', async (t) => {
  const n = await booted(t);
  const { machine, md } = n.socket();
  const next = withHostname(n.cfg.controlplane, 'trying');
  const r = await machine.applyConfiguration(
    { data: Buffer.from(next), mode: Mode.TRY, tryModeTimeout: { seconds: 1n, nanos: 0 } },
    { metadata: md, timeoutMs: 5000 },
  );
  assert.match(r.messages[0]?.modeDetails ?? '', /reverted back in 1s/);
  assert.equal(activeYaml(n.node), next);
  assert.equal(readFileSync(n.node.paths.config, 'utf8'), n.cfg.controlplane, 'try mode does not persist');
  await until('revert', () => activeYaml(n.node) === n.cfg.controlplane, 5000);
});

test('TalosNode: a change that needs a reboot is refused in no-reboot mode; staged applies after reboot', async (t) => {
  const n = await booted(t);
  const { machine, md } = n.socket();
  await assert.rejects(
    machine.applyConfiguration({ data: Buffer.from(n.cfg.worker), mode: Mode.NO_REBOOT }, { metadata: md, timeoutMs: 5000 }),
    (e) => hasCode(e, Code.FailedPrecondition) && /requires a reboot/.test((e as Error).message),
  );
  const staged = withHostname(n.cfg.controlplane, 'staged-name');
  const r = await machine.applyConfiguration({ data: Buffer.from(staged), mode: Mode.STAGED }, { metadata: md, timeoutMs: 5000 });
  assert.match(r.messages[0]?.modeDetails ?? '', /Staged configuration/);
  assert.equal(activeYaml(n.node), n.cfg.controlplane);
  await machine.reboot({}, { metadata: md, timeoutMs: 5000 });
  await until('reboot with staged config', () => {
    try {
      return activeYaml(n.node) === staged;
    } catch {
      return false;
    }
  });
});

test('TalosNode: reset wipes the state and reboots into maintenance mode', async (t) => {
  const n = await booted(t);
  const { machine, md } = n.socket();
  await machine.reset({ reboot: true }, { metadata: md, timeoutMs: 5000 });
  await until('maintenance after reset', () => n.node.inMaintenance);
  assert.ok(!existsSync(n.node.paths.config));
  assert.ok(!existsSync(n.node.paths.apiCertsDir));
});

test('TalosNode: API certificates rotate at half of their lifetime', async (t) => {
  const n = await booted(t, { lifetimeMs: 2000 });
  const file = join(n.node.paths.apiCertsDir, 'server.crt');
  await until('first certificate', () => existsSync(file));
  const first = readFileSync(file, 'utf8');
  await until('rotated certificate', () => readFileSync(file, 'utf8') !== first, 5000);
});

test('TalosNode: the events stream replays history and follows new service events', async (t) => {
  const n = await booted(t);
  const { machine, md } = n.socket();
  const ac = new AbortController();
  const seen: string[] = [];
  const stream = machine.events({ tailEvents: -1 }, { metadata: md, signal: ac.signal });
  for await (const e of stream) {
    seen.push(e.data?.typeUrl ?? '');
    if (seen.includes('talos/runtime/machine.ServiceStateEvent') && seen.includes('talos/runtime/machine.MachineStatusEvent')) break;
  }
  ac.abort();
  assert.ok(seen.includes('talos/runtime/machine.SequenceEvent'));
});
