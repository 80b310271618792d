// KubeSpan firewall updates on the real kernel: time to replace the kubespan chains' peer sets
// (one nf_tables transaction over netlink) with 1,000 and 10,000 peer addresses, in a network
// namespace of our own (tks-bench-<pid>). Prints one JSON object; then, when vm-kubespan.test.ts has
// run (it boots 3 VMs, too slow for a bench), the mesh times it measured: start to all peers up,
// rotation past a wrong first endpoint, reboot to rejoined.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { KubeSpanKernelState } from '@talos-ts/machined';

const ns = `tks-bench-${process.pid}`;
const ROUNDS = 20;

const addresses = (n: number, salt: number) =>
  Array.from({ length: n }, (_, i) => {
    const first = BigInt((((10 << 24) >>> 0) + ((salt & 0xff) << 16) + i * 4) >>> 0);
    return { family: 4 as const, first, last: first };
  });

execFileSync('ip', ['netns', 'add', ns]);
try {
  using k = new KubeSpanKernelState({ netnsPath: `/var/run/netns/${ns}` });
  const figures: Record<string, number> = {};
  for (const n of [1000, 10_000]) {
    const times: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const peers = addresses(n, r);
      const t0 = performance.now();
      k.applyFirewall(peers);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const listed = execFileSync('ip', ['netns', 'exec', ns, 'nft', 'list', 'chain', 'inet', 'talos', 'kubespan_outgoing'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    figures[`peers${n}_medianMs`] = Number(times[Math.floor(ROUNDS / 2)]!.toFixed(2));
    figures[`peers${n}_maxMs`] = Number(times[ROUNDS - 1]!.toFixed(2));
    figures[`peers${n}_inKernel`] = new Set(listed.match(/10\.\d+\.\d+\.\d+/g) ?? []).size;
  }
  const t0 = performance.now();
  k.teardown();
  figures.teardownMs = Number((performance.now() - t0).toFixed(2));
  console.log(JSON.stringify({ bench: 'kubespan-nftables', rounds: ROUNDS, ...figures }));
} finally {
  execFileSync('ip', ['netns', 'del', ns]);
}

const vmFigures = new URL('../../../_out/kubespan-vm-figures.json', import.meta.url).pathname;
console.log(
  JSON.stringify(
    existsSync(vmFigures)
      ? { bench: 'kubespan-mesh-vm', source: 'TALOS_SLOW=1 npm test -- test/integration/vm-kubespan', ...(JSON.parse(readFileSync(vmFigures, 'utf8')) as object) }
      : { bench: 'kubespan-mesh-vm', note: 'not measured yet: run TALOS_SLOW=1 npm test -- test/integration/vm-kubespan' },
  ),
);
