import type { Command } from 'commander';
import type { machinePb } from '@talos-ts/machinery';
import { NodeErrors, withApiClient } from '../../api.ts';
import type { CliIo, CommandRegistrar } from '../../cli.ts';
import { TabWriter } from '../../output/table.ts';

const MiB = 1024n;

/** /proc/meminfo lines in the kernel's order; the huge page counts have no unit. */
const verboseFields: readonly [string, keyof machinePb.MemInfo, boolean][] = [
  ['MemTotal', 'memtotal', true],
  ['MemFree', 'memfree', true],
  ['MemAvailable', 'memavailable', true],
  ['Buffers', 'buffers', true],
  ['Cached', 'cached', true],
  ['SwapCached', 'swapcached', true],
  ['Active', 'active', true],
  ['Inactive', 'inactive', true],
  ['ActiveAnon', 'activeanon', true],
  ['InactiveAnon', 'inactiveanon', true],
  ['ActiveFile', 'activefile', true],
  ['InactiveFile', 'inactivefile', true],
  ['Unevictable', 'unevictable', true],
  ['Mlocked', 'mlocked', true],
  ['SwapTotal', 'swaptotal', true],
  ['SwapFree', 'swapfree', true],
  ['Dirty', 'dirty', true],
  ['Writeback', 'writeback', true],
  ['AnonPages', 'anonpages', true],
  ['Mapped', 'mapped', true],
  ['Shmem', 'shmem', true],
  ['Slab', 'slab', true],
  ['SReclaimable', 'sreclaimable', true],
  ['SUnreclaim', 'sunreclaim', true],
  ['KernelStack', 'kernelstack', true],
  ['PageTables', 'pagetables', true],
  ['NFSUnstable', 'nfsunstable', true],
  ['Bounce', 'bounce', true],
  ['WritebackTmp', 'writebacktmp', true],
  ['CommitLimit', 'commitlimit', true],
  ['CommittedAS', 'committedas', true],
  ['VmallocTotal', 'vmalloctotal', true],
  ['VmallocUsed', 'vmallocused', true],
  ['VmallocChunk', 'vmallocchunk', true],
  ['HardwareCorrupted', 'hardwarecorrupted', true],
  ['AnonHugePages', 'anonhugepages', true],
  ['ShmemHugePages', 'shmemhugepages', true],
  ['ShmemPmdMapped', 'shmempmdmapped', true],
  ['CmaTotal', 'cmatotal', true],
  ['CmaFree', 'cmafree', true],
  ['HugePagesTotal', 'hugepagestotal', false],
  ['HugePagesFree', 'hugepagesfree', false],
  ['HugePagesRsvd', 'hugepagesrsvd', false],
  ['HugePagesSurp', 'hugepagessurp', false],
  ['Hugepagesize', 'hugepagesize', true],
  ['DirectMap4k', 'directmap4k', true],
  ['DirectMap2M', 'directmap2m', true],
  ['DirectMap1G', 'directmap1g', true],
];

/** `talosctl memory`: memory usage per node in MiB (-v: the full meminfo in kB). */
export const registerMemory: CommandRegistrar = (parent: Command, io: CliIo) => {
  parent
    .command('memory')
    .alias('m')
    .description('Show memory usage')
    .option('-v, --verbose', 'display extended memory statistics')
    .action(async (opts: { verbose?: boolean }, cmd: Command) => {
      await withApiClient(cmd, async (s) => {
        const res = await s.client.machine.memory({}, { signal: s.signal });
        const errors = new NodeErrors();
        const w = new TabWriter(io.out);
        if (!opts.verbose) w.row(['NODE', 'TOTAL', 'USED', 'FREE', 'SHARED', 'BUFFERS', 'CACHE', 'AVAILABLE']);
        for (const m of res.messages) {
          if (errors.check(m.metadata, s.nodeName)) continue;
          const node = s.nodeName(m.metadata?.hostname);
          const mi = m.meminfo;
          const get = (k: keyof machinePb.MemInfo): bigint => (mi ? (mi[k] as bigint) : 0n);
          if (opts.verbose) {
            io.out(`NODE: ${node}\n`);
            for (const [label, key, kb] of verboseFields) io.out(`${label}: ${get(key)}${kb ? ' kB' : ''}\n`);
            continue;
          }
          const used = get('memtotal') - get('memfree') - get('cached') - get('buffers');
          w.row([
            node,
            String(get('memtotal') / MiB),
            String(used / MiB),
            String(get('memfree') / MiB),
            String(get('shmem') / MiB),
            String(get('buffers') / MiB),
            String(get('cached') / MiB),
            String(get('memavailable') / MiB),
          ]);
        }
        if (!opts.verbose) w.flush();
        errors.throwIfAny();
      });
    });
};
