import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { fromBinary } from '@bufbuild/protobuf';
import { join } from 'node:path';
import { Code, hasCode, nullLogger } from '@talos-ts/cosi';
import {
  ActiveMachineConfigId,
  TALOS_API_PORT as API_PORT,
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

// Node addresses come from a /24 of their own: other suites that run beside this one use 127.0.0.x.
let host = 1;
async function startNode(
  t: { after: (fn: () => Promise<void>) => void },
  options: { lifetimeMs?: number; prepare?: (dir: string, cfg: ReturnType<typeof configs>) => void; node?: { ownsNetwork?: boolean; netnsPath?: string } } = {},
) {
  const address = `127.0.3.${host++}`;
  const dir = mkdtempSync(join(tmpdir(), 'machined-node-'));
  options.prepare?.(dir, configs(`https://${address}:6443`));
  const node = new TalosNode({
    platform: 'container',
    stateDir: dir,
    address,
    logger: nullLogger,
    apidCommand: idle,
    trustdCommand: idle,
    restartIntervalMs: 200,
    ...(options.lifetimeMs ? { apiCertLifetimeMs: options.lifetimeMs } : {}),
    ...options.node,
  });
  // Cleanup is registered first, so a node whose start fails is stopped as well.
  t.after(async () => {
    await node[Symbol.asyncDispose]();
    rmSync(dir, { recursive: true, force: true });
  });
  await node.start();
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
  // Two Node processes start here, apid once its certificate is issued: on two shared cores under
  // the full gate's load (etcd clusters of other files rebooting) that once took over 60 s.
  await until('apid and trustd running', () => ['apid', 'trustd'].every((id) => node.supervisor?.get(id).state === 'Running'), 150_000);
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

async function machineStatusEvents(machine: ReturnType<Awaited<ReturnType<typeof startNode>>['socket']>['machine'], md: Record<string, string>) {
  const ac = new AbortController();
  const seen: machinePb.MachineStatusEvent[] = [];
  const sequences: machinePb.SequenceEvent[] = [];
  const done = (async () => {
    for await (const e of machine.events({ tailEvents: -1 }, { metadata: md, signal: ac.signal })) {
      const url = e.data?.typeUrl ?? '';
      if (url.endsWith('machine.MachineStatusEvent')) seen.push(fromBinary(machinePb.MachineStatusEventSchema, e.data!.value));
      if (url.endsWith('machine.SequenceEvent')) sequences.push(fromBinary(machinePb.SequenceEventSchema, e.data!.value));
    }
  })().catch(() => {});
  await until('machine status events', () => seen.length > 0 && sequences.some((q) => q.action === machinePb.SequenceEvent_Action.STOP));
  ac.abort();
  await done;
  return { seen, sequences };
}

function refusesConnections(address: string): Promise<boolean> {
  const c = maintenanceClient(address);
  return c
    .version({}, { timeoutMs: 3000 })
    .then(() => false, () => true)
    .finally(() => c.close());
}

test('TalosNode: an empty, truncated or garbage stored config is not booted and never opens maintenance mode; the reason is logged and in the events', async (t) => {
  const damaged: Record<string, (good: string) => string> = {
    garbage: () => '\u0000\u0001{{{ not yaml ]]]\n',
    empty: () => '',
    truncated: (good) => good.slice(0, Math.floor(good.length / 2)),
  };
  for (const [what, damage] of Object.entries(damaged)) {
    const n = await startNode(t, { prepare: (dir, cfg) => writeFileSync(join(dir, 'config.yaml'), damage(cfg.controlplane)) });
    assert.ok(!n.node.inMaintenance, `${what}: no maintenance mode`);
    assert.match(n.node.bootFailure ?? '', new RegExp(`stored configuration ${n.node.paths.config} does not load`), what);
    assert.equal(n.node.supervisor, undefined, `${what}: nothing started`);
    assert.ok(await refusesConnections(n.address), `${what}: nothing listens on ${n.address}:${API_PORT}`);
    const { machine, md } = n.socket();
    const { seen, sequences } = await machineStatusEvents(machine, md);
    const last = seen.at(-1)!;
    assert.equal(last.stage, machinePb.MachineStatusEvent_MachineStage.BOOTING, what);
    assert.equal(last.status?.ready, false);
    assert.equal(last.status?.unmetConditions[0]?.name, 'config');
    assert.match(last.status?.unmetConditions[0]?.reason ?? '', /does not load/);
    assert.match(sequences.at(-1)?.error?.message ?? '', /does not load/);
    assert.ok(!seen.some((e) => e.stage === machinePb.MachineStatusEvent_MachineStage.MAINTENANCE), `${what}: never in maintenance`);
  }
});

test('TalosNode: a torn staged config is kept aside at boot and the applied config boots', async (t) => {
  let good = '';
  const n = await startNode(t, {
    prepare: (dir, cfg) => {
      good = cfg.controlplane;
      writeFileSync(join(dir, 'config.yaml'), good);
      writeFileSync(join(dir, 'config.staged.yaml'), withHostname(cfg.controlplane, 'staged').slice(0, 300));
    },
  });
  assert.ok(!n.node.inMaintenance);
  assert.equal(n.node.bootFailure, undefined);
  assert.equal(activeYaml(n.node), good);
  assert.equal(readFileSync(n.node.paths.config, 'utf8'), good);
  assert.ok(!existsSync(n.node.paths.stagedConfig));
  assert.ok(existsSync(n.node.paths.rejectedStagedConfig));
});

test('TalosNode: parallel applies all succeed, one at a time, and the config on disk is the one running', async (t) => {
  const n = await booted(t);
  const names = Array.from({ length: 12 }, (_, i) => `parallel-${i}`);
  const yamls = names.map((name) => withHostname(n.cfg.controlplane, name));
  const results = await Promise.allSettled(yamls.map((yaml) => n.node.applyConfiguration({ yaml, mode: Mode.NO_REBOOT, dryRun: false, tryTimeoutMs: 0 })));
  assert.deepEqual(
    results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason)),
    [],
  );
  const running = activeYaml(n.node);
  assert.equal(running, yamls.at(-1), 'applies take effect in call order');
  assert.equal(readFileSync(n.node.paths.config, 'utf8'), running);
});

// Many small list items: a config over 200 KB in ~7,000 lines, the shape that broke the old n×m diff.
function withFiles(yaml: string, count: number): string {
  const cfg = loadConfig(yaml, { filename: 'base' });
  const items = Array.from({ length: count }, (_, i) => `    - path: /var/example/file-${i}\n      op: create\n      content: value-${i}\n      permissions: 0o644`);
  const patch = parsePatch(`machine:\n  files:\n${items.join('\n')}\n`, { name: 'files-patch' });
  if (cfg.error || patch.error) throw cfg.error ?? patch.error;
  const out = applyPatches(cfg.value, [patch.value]);
  if (out.error) throw out.error;
  return out.value.toYaml();
}

test('TalosNode: a config over 200 KB applies, and dry-runs against it show a small change or say the diff is too large', async (t) => {
  const n = await booted(t);
  const { machine, md } = n.socket();
  const big = withFiles(n.cfg.controlplane, 1800);
  assert.ok(big.length > 200 * 1024, `config is ${big.length} bytes`);
  const first = await machine.applyConfiguration({ data: Buffer.from(big), mode: Mode.NO_REBOOT, dryRun: true }, { metadata: md, timeoutMs: 30_000 });
  assert.match(first.messages[0]?.modeDetails ?? '', /differ in at least \d+ lines; the diff is too large to show/);
  await machine.applyConfiguration({ data: Buffer.from(big), mode: Mode.NO_REBOOT }, { metadata: md, timeoutMs: 30_000 });
  assert.equal(readFileSync(n.node.paths.config, 'utf8'), big);
  const next = big.replace('content: value-1234\n', 'content: changed\n');
  const dry = await machine.applyConfiguration({ data: Buffer.from(next), mode: Mode.NO_REBOOT, dryRun: true }, { metadata: md, timeoutMs: 30_000 });
  assert.match(dry.messages[0]?.modeDetails ?? '', /Config diff:\n\n-\s+content: value-1234\n\+\s+content: changed$/);
});

test('TalosNode: a second node on the same state directory is refused, naming the directory and the holder PID', async (t) => {
  const n = await booted(t);
  const second = new TalosNode({ platform: 'container', stateDir: n.dir, address: `127.0.3.${host++}`, logger: nullLogger, apidCommand: idle, trustdCommand: idle });
  t.after(() => second[Symbol.asyncDispose]());
  await assert.rejects(
    second.start(),
    (e) => hasCode(e, Code.FailedPrecondition) && (e as Error).message.includes(n.dir) && (e as Error).message.includes(`PID ${process.pid}`),
  );
  assert.equal(activeYaml(n.node), n.cfg.controlplane, 'the first node runs on');

  // The same from a second machined process: it exits at once with the reason on stderr.
  const bin = fileURLToPath(new URL('../bin/machined.js', import.meta.url));
  const child = spawn(process.execPath, [bin, '--platform', 'container', '--state-dir', n.dir, '--address', `127.0.3.${host++}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const kill = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  clearTimeout(kill);
  assert.equal(code, 1, `second machined: ${stderr}`);
  assert.match(stderr, new RegExp(`state directory ${n.dir} is in use by machined PID ${process.pid}`));
  assert.equal(readFileSync(n.node.paths.lock, 'utf8'), `${process.pid}\n`);
});

test('TalosNode: network resources answer through the API with upstream field names; the container node writes its /etc files into the state dir only', async (t) => {
  const n = await booted(t);
  const { state, md } = n.socket('os:reader');
  const yamlOf = async (type: string, id: string): Promise<string> => {
    for (let i = 0; ; i++) {
      try {
        return (await state.get({ namespace: 'network', type, id }, { metadata: md, timeoutMs: 5000 })).resource?.spec?.yamlSpec ?? '';
      } catch (err) {
        if (i >= 100 || !hasCode(err, Code.NotFound)) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  const lo = await yamlOf('LinkStatuses.net.talos.dev', 'lo');
  assert.match(lo, /^type: loopback$/m);
  assert.match(lo, /^operationalState: \w+$/m);
  assert.match(await yamlOf('ResolverStatuses.net.talos.dev', 'resolvers'), /dnsServers:\n\s+- 1\.1\.1\.1/);
  assert.match(await yamlOf('TimeServerStatuses.net.talos.dev', 'timeservers'), /timeServers:\n\s+- time\.cloudflare\.com/);
  assert.match(await yamlOf('NetworkStatuses.net.talos.dev', 'status'), /hostnameReady: true/);
  assert.match(await yamlOf('NodeAddresses.net.talos.dev', 'current'), /sortAlgorithm: v1/);
  await until('etc files', () => existsSync(join(n.dir, 'system', 'etc', 'resolv.conf')) && existsSync(join(n.dir, 'system', 'etc', 'hosts')));
  assert.match(readFileSync(join(n.dir, 'system', 'etc', 'resolv.conf'), 'utf8'), /^nameserver 1\.1\.1\.1$/m);
});

test('TalosNode: with a network namespace of its own, apply-config no-reboot puts addresses in its kernel and takes a removed one out, leaving the rest', async (t) => {
  const ns = `tnet-node-${process.pid}`;
  const ipIn = (...args: string[]): string => execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  execFileSync('ip', ['netns', 'add', ns]);
  t.after(() => execFileSync('ip', ['netns', 'del', ns]));
  ipIn('link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
  const n = await startNode(t, { node: { ownsNetwork: true, netnsPath: `/run/netns/${ns}` } });
  const withAddresses = (addresses: string[]): string => {
    const cfg = loadConfig(n.cfg.controlplane, { filename: 'base' });
    const patch = parsePatch(`machine:\n  network:\n    interfaces:\n      - interface: v0\n        addresses: [${addresses.join(', ')}]\n`, { name: 'net-patch' });
    if (cfg.error || patch.error) throw cfg.error ?? patch.error;
    const out = applyPatches(cfg.value, [patch.value]);
    if (out.error) throw out.error;
    return out.value.toYaml();
  };
  const c = maintenanceClient(n.address);
  await c.applyConfiguration({ data: Buffer.from(withAddresses(['10.23.20.2/24', '10.23.21.2/24'])), mode: Mode.AUTO }, { timeoutMs: 10_000 });
  c.close();
  await until('both addresses in the kernel', () => /10\.23\.20\.2\/24[\s\S]*10\.23\.21\.2\/24/.test(ipIn('addr', 'show', 'v0')));
  const { machine, md } = n.socket();
  const t0 = Date.now();
  const live = await machine.applyConfiguration({ data: Buffer.from(withAddresses(['10.23.20.2/24'])), mode: Mode.NO_REBOOT }, { metadata: md, timeoutMs: 5000 });
  assert.equal(live.messages[0]?.mode, Mode.NO_REBOOT);
  await until('the removed address leaves the kernel', () => !ipIn('addr', 'show', 'v0').includes('10.23.21.2'));
  t.diagnostic(`apply-config no-reboot → address removed from the kernel in ${Date.now() - t0} ms`);
  assert.match(ipIn('addr', 'show', 'v0'), /10\.23\.20\.2\/24/);
  assert.match(ipIn('link', 'show', 'lo'), /UP/);
});
