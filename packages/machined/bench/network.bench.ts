// Networking figures, in a network namespace made here: how long a machine config change takes to
// put an address in the kernel (config → merge → spec → netlink), and how the status controllers
// keep up with 1,000 kernel address changes made behind their back (multicast → AddressStatus).
// Prints one JSON object.
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { InMemoryState, Runtime, nullLogger } from '@talos-ts/cosi';
import {
  ActiveMachineConfigId,
  AddressStatusType,
  MachineConfigType,
  NamespaceName,
  applyPatches,
  generateMachineConfigs,
  generateSecretsBundle,
  newMachineConfig,
  parsePatch,
  registerTalosResources,
  toConfigSecrets,
} from '@talos-ts/machinery';
import { Rtnl, networkControllers, openNetworkKernel } from '@talos-ts/machined';

const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;
const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] ?? 0;

const ns = `tnet-bench-${process.pid}`;
execFileSync('ip', ['netns', 'add', ns]);
const netnsPath = `/run/netns/${ns}`;
try {
  execFileSync('ip', ['-n', ns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1']);
  const bundle = await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' });
  const base = generateMachineConfigs({ clusterName: 'bench', endpoint: 'https://127.0.0.1:6443', secrets: toConfigSecrets(bundle) }).worker;
  const yamlWith = (address: string): string => {
    const p = parsePatch(`machine:\n  network:\n    interfaces:\n      - interface: v0\n        addresses: [${address}]\n`, { name: 'p' });
    if (p.error) throw p.error;
    const out = applyPatches(base, [p.value]);
    if (out.error) throw out.error;
    return out.value.toYaml();
  };

  const state = new InMemoryState();
  registerTalosResources(state);
  const runtime = new Runtime(state, { logger: nullLogger });
  runtime.register(...networkControllers({ defaultHostname: 'bench', openKernel: () => openNetworkKernel({ netnsPath }), ownsNetwork: true }));
  const abort = new AbortController();
  const done = runtime.run(abort.signal);
  using nl = new Rtnl({ netnsPath });

  // 1. Config change → address in the kernel.
  const applyMs: number[] = [];
  const rounds = 30;
  for (let i = 0; i < rounds; i++) {
    const address = `10.30.${i}.2/24`;
    const yaml = yamlWith(address);
    const t0 = performance.now();
    const mc = state.find({ namespace: NamespaceName.config, type: MachineConfigType, id: ActiveMachineConfigId });
    if (mc) state.update({ ...mc, spec: { yaml } });
    else state.create(newMachineConfig(ActiveMachineConfigId, { yaml }));
    for (let spin = 0; ; spin++) {
      if (nl.addresses().some((a) => a.address === address)) break;
      if (spin > 20_000) throw new Error(`address ${address} never reached the kernel`);
      await new Promise((r) => setImmediate(r));
    }
    applyMs.push(performance.now() - t0);
  }

  // 2. 1,000 kernel address changes (added by someone else), then the statuses catching up.
  const count = (): number => state.list({ namespace: NamespaceName.network, type: AddressStatusType }).length;
  const waitFor = async (n: number): Promise<void> => {
    const deadline = Date.now() + 60_000;
    while (count() !== n) {
      if (Date.now() > deadline) throw new Error(`statuses stuck at ${count()} of ${n}`);
      await new Promise((r) => setTimeout(r, 1));
    }
  };
  await new Promise((r) => setTimeout(r, 200));
  const before = count();
  const v1 = nl.links().find((l) => l.name === 'v1');
  if (!v1) throw new Error('no v1');
  globalThis.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const rssBefore = process.memoryUsage().rss;
  const changes = 1000;
  const t1 = performance.now();
  for (let i = 0; i < changes; i++) nl.addAddress(v1.index, `10.40.${Math.floor(i / 250)}.${(i % 250) + 1}/32`);
  const kernelAddMs = performance.now() - t1;
  await waitFor(before + changes);
  const addCatchUpMs = performance.now() - t1;
  const heapAfterAdd = process.memoryUsage().heapUsed;
  const rssAfterAdd = process.memoryUsage().rss;
  const t2 = performance.now();
  for (let i = 0; i < changes; i++) nl.deleteAddress(v1.index, `10.40.${Math.floor(i / 250)}.${(i % 250) + 1}/32`);
  await waitFor(before);
  const delCatchUpMs = performance.now() - t2;

  abort.abort();
  await done;
  process.stdout.write(
    `${JSON.stringify({
      configToKernelAddressMs: { rounds, p50: round(pct(applyMs, 50)), p95: round(pct(applyMs, 95)), max: round(Math.max(...applyMs)) },
      kernelAddressChanges: {
        changes,
        kernelAddMs: round(kernelAddMs),
        addStatusCaughtUpMs: round(addCatchUpMs),
        deleteStatusCaughtUpMs: round(delCatchUpMs),
        heapGrowthMiB: round((heapAfterAdd - heapBefore) / 2 ** 20),
        rssGrowthMiB: round((rssAfterAdd - rssBefore) / 2 ** 20),
      },
    })}\n`,
  );
} finally {
  execFileSync('ip', ['netns', 'del', ns]);
}
