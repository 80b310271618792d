import { readdir, readFile, readlink, statfs } from 'node:fs/promises';
import { readMounts } from './mounts.ts';

/** One process as the Processes API reports it (upstream's ProcessInfo). */
export interface ProcessEntry {
  readonly pid: number;
  readonly ppid: number;
  readonly state: string;
  readonly threads: number;
  /** User + system CPU time, seconds. */
  readonly cpuTimeSeconds: number;
  readonly virtualMemoryBytes: bigint;
  readonly residentMemoryBytes: bigint;
  readonly command: string;
  readonly executable: string;
  readonly args: string;
  readonly label: string;
}

// Clock ticks per second and page size: Linux fixes USER_HZ at 100 for /proc; every architecture we
// build for uses 4 KiB pages.
const USER_HZ = 100;
const PAGE_BYTES = 4096n;

async function readOr(path: string, fallback = ''): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return fallback;
  }
}

/** Parses /proc/<pid>/stat; the command may hold spaces and parentheses, so fields count from the last `)`. */
export function parseProcStat(text: string): { comm: string; state: string; ppid: number; threads: number; ticks: number; vsize: bigint; rssPages: bigint } | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const f = text.slice(close + 2).trim().split(' ');
  // After the command: state(0) ppid(1) ... utime(11) stime(12) ... num_threads(17) ... vsize(20) rss(21)
  if (f.length < 22) return undefined;
  return {
    comm: text.slice(open + 1, close),
    state: f[0] as string,
    ppid: Number(f[1]),
    threads: Number(f[17]),
    ticks: Number(f[11]) + Number(f[12]),
    vsize: BigInt(f[20] as string),
    rssPages: BigInt(f[21] as string),
  };
}

/** Every process in this process' PID namespace (a process that exits while being read is left out). */
export async function listProcesses(procDir = '/proc'): Promise<ProcessEntry[]> {
  const pids = (await readdir(procDir)).filter((n) => /^\d+$/.test(n)).map(Number).sort((a, b) => a - b);
  const out: ProcessEntry[] = [];
  for (const pid of pids) {
    const base = `${procDir}/${pid}`;
    const st = parseProcStat(await readOr(`${base}/stat`));
    if (!st) continue;
    let executable = '';
    try {
      executable = await readlink(`${base}/exe`);
    } catch {
      // kernel threads have no executable
    }
    const args = (await readOr(`${base}/cmdline`)).split('\0').filter((a) => a !== '').join(' ');
    out.push({
      pid,
      ppid: st.ppid,
      state: st.state,
      threads: st.threads,
      cpuTimeSeconds: st.ticks / USER_HZ,
      virtualMemoryBytes: st.vsize,
      residentMemoryBytes: st.rssPages * PAGE_BYTES,
      command: st.comm,
      executable,
      args,
      label: (await readOr(`${base}/attr/current`)).replace(/\0/g, '').trim(),
    });
  }
  return out;
}

/** Size and free space of one mounted filesystem. */
export interface MountUsage {
  readonly source: string;
  readonly target: string;
  readonly sizeBytes: bigint;
  readonly availableBytes: bigint;
}

/**
 * The mount table with statfs figures, as upstream's Mounts API: mounts whose statfs fails
 * (gone, or a remote filesystem not answering within `timeoutMs`) are left out.
 */
export async function mountUsage(options: { mountsPath?: string; timeoutMs?: number } = {}): Promise<MountUsage[]> {
  const out: MountUsage[] = [];
  for (const m of readMounts(options.mountsPath)) {
    try {
      const s = await Promise.race([
        statfs(m.target, { bigint: true }),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('statfs timed out')), options.timeoutMs ?? 2000).unref()),
      ]);
      out.push({ source: m.source, target: m.target, sizeBytes: s.blocks * s.bsize, availableBytes: s.bavail * s.bsize });
    } catch {
      // not measurable now
    }
  }
  return out;
}

/** A socket table of /proc/net. */
export type SocketTable = 'tcp' | 'tcp6' | 'udp' | 'udp6' | 'udplite' | 'udplite6' | 'raw' | 'raw6';

/** One socket as /proc/net/<table> lists it. */
export interface SocketEntry {
  readonly table: SocketTable;
  readonly localIp: string;
  readonly localPort: number;
  readonly remoteIp: string;
  readonly remotePort: number;
  /** The kernel's TCP state number (1 ESTABLISHED … 10 LISTEN, 11 CLOSING); UDP uses 7 (CLOSE) when unconnected. */
  readonly state: number;
  readonly txQueue: bigint;
  readonly rxQueue: bigint;
  readonly timerActive: number;
  readonly timerWhen: bigint;
  readonly retransmits: bigint;
  readonly uid: number;
  readonly timeout: bigint;
  readonly inode: bigint;
  readonly ref: bigint;
  readonly pointer: bigint;
}

/** Decodes a /proc/net address: IPv4 is one host-order (little-endian) word, IPv6 four of them. */
export function decodeProcAddress(hex: string): string {
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((w) => [w.slice(6, 8), w.slice(4, 6), w.slice(2, 4), w.slice(0, 2)].map((b) => parseInt(b, 16)));
  if (bytes.length === 4) return bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  // Compress the longest run of zero groups, as addresses are usually written.
  const text = groups.join(':');
  const runs = text.match(/(?:^|:)0(?::0)+(?::|$)/g);
  if (!runs) return text;
  const longest = runs.reduce((a, b) => (b.length > a.length ? b : a));
  return text.replace(longest, '::');
}

/** Parses the text of one /proc/net socket table. */
export function parseSocketTable(table: SocketTable, text: string): SocketEntry[] {
  const out: SocketEntry[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 12) continue;
    const [local, remote, st, queues, timer] = [f[1], f[2], f[3], f[4], f[5]] as [string, string, string, string, string];
    const [lip, lport] = local.split(':') as [string, string];
    const [rip, rport] = remote.split(':') as [string, string];
    const [tx, rx] = queues.split(':') as [string, string];
    const [tr, when] = timer.split(':') as [string, string];
    out.push({
      table,
      localIp: decodeProcAddress(lip),
      localPort: parseInt(lport, 16),
      remoteIp: decodeProcAddress(rip),
      remotePort: parseInt(rport, 16),
      state: parseInt(st, 16),
      txQueue: BigInt(`0x${tx}`),
      rxQueue: BigInt(`0x${rx}`),
      timerActive: parseInt(tr, 16),
      timerWhen: BigInt(`0x${when}`),
      retransmits: BigInt(`0x${f[6]}`),
      uid: Number(f[7]),
      timeout: BigInt(f[8] as string),
      inode: BigInt(f[9] as string),
      ref: BigInt(f[10] ?? '0'),
      pointer: BigInt(`0x${f[11] ?? '0'}`),
    });
  }
  return out;
}

/** The sockets of the given tables in this process' network namespace (a missing table, e.g. no IPv6, is empty). */
export async function readSockets(tables: readonly SocketTable[], procDir = '/proc'): Promise<SocketEntry[]> {
  const out: SocketEntry[] = [];
  for (const t of tables) out.push(...parseSocketTable(t, await readOr(`${procDir}/self/net/${t}`)));
  return out;
}

/** Which process holds each socket inode (from /proc/<pid>/fd links), with its command name. */
export async function socketOwners(procDir = '/proc'): Promise<Map<bigint, { pid: number; name: string }>> {
  const owners = new Map<bigint, { pid: number; name: string }>();
  for (const name of await readdir(procDir)) {
    if (!/^\d+$/.test(name)) continue;
    let fds: string[];
    try {
      fds = await readdir(`${procDir}/${name}/fd`);
    } catch {
      continue;
    }
    let comm: string | undefined;
    for (const fd of fds) {
      let target: string;
      try {
        target = await readlink(`${procDir}/${name}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (!m || owners.has(BigInt(m[1] as string))) continue;
      comm ??= (await readOr(`${procDir}/${name}/comm`)).trim();
      owners.set(BigInt(m[1] as string), { pid: Number(name), name: comm });
    }
  }
  return owners;
}

/** CPU times of one /proc/stat `cpu` line, in seconds. */
export interface CpuTimes {
  readonly user: number;
  readonly nice: number;
  readonly system: number;
  readonly idle: number;
  readonly iowait: number;
  readonly irq: number;
  readonly softIrq: number;
  readonly steal: number;
  readonly guest: number;
  readonly guestNice: number;
}

/** Soft interrupt counts by kind, in the order of the `softirq` line of /proc/stat. */
export interface SoftIrqCounts {
  readonly hi: bigint;
  readonly timer: bigint;
  readonly netTx: bigint;
  readonly netRx: bigint;
  readonly block: bigint;
  readonly blockIoPoll: bigint;
  readonly tasklet: bigint;
  readonly sched: bigint;
  readonly hrtimer: bigint;
  readonly rcu: bigint;
}

/** The kernel-wide counters of /proc/stat. */
export interface SystemStatEntry {
  /** Boot time, seconds since the Unix epoch. */
  readonly bootTimeSeconds: bigint;
  readonly cpuTotal: CpuTimes;
  readonly cpus: CpuTimes[];
  readonly irqTotal: bigint;
  readonly irqs: bigint[];
  readonly contextSwitches: bigint;
  readonly processesCreated: bigint;
  readonly processesRunning: bigint;
  readonly processesBlocked: bigint;
  readonly softIrqTotal: bigint;
  readonly softIrq: SoftIrqCounts;
}

const cpuFields = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softIrq', 'steal', 'guest', 'guestNice'] as const;
const softIrqFields = ['hi', 'timer', 'netTx', 'netRx', 'block', 'blockIoPoll', 'tasklet', 'sched', 'hrtimer', 'rcu'] as const;

function bigOr0(text: string | undefined): bigint {
  return text !== undefined && /^\d+$/.test(text) ? BigInt(text) : 0n;
}

/** Parses /proc/stat; fields an older kernel does not print (steal, guest…) read as zero. */
export function parseSystemStat(text: string): SystemStatEntry {
  const times = (f: string[]): CpuTimes =>
    Object.fromEntries(cpuFields.map((k, i) => [k, (Number(f[i + 1]) || 0) / USER_HZ])) as unknown as CpuTimes;
  const zeroTimes = times([]);
  let cpuTotal = zeroTimes;
  const cpus: CpuTimes[] = [];
  const out = {
    bootTimeSeconds: 0n,
    irqTotal: 0n,
    irqs: [] as bigint[],
    contextSwitches: 0n,
    processesCreated: 0n,
    processesRunning: 0n,
    processesBlocked: 0n,
    softIrqTotal: 0n,
    softIrq: Object.fromEntries(softIrqFields.map((k) => [k, 0n])) as unknown as SoftIrqCounts,
  };
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    const key = f[0] ?? '';
    if (key === 'cpu') cpuTotal = times(f);
    else if (/^cpu\d+$/.test(key)) cpus[Number(key.slice(3))] = times(f);
    else if (key === 'intr') {
      out.irqTotal = bigOr0(f[1]);
      out.irqs = f.slice(2).map(bigOr0);
    } else if (key === 'ctxt') out.contextSwitches = bigOr0(f[1]);
    else if (key === 'btime') out.bootTimeSeconds = bigOr0(f[1]);
    else if (key === 'processes') out.processesCreated = bigOr0(f[1]);
    else if (key === 'procs_running') out.processesRunning = bigOr0(f[1]);
    else if (key === 'procs_blocked') out.processesBlocked = bigOr0(f[1]);
    else if (key === 'softirq') {
      out.softIrqTotal = bigOr0(f[1]);
      out.softIrq = Object.fromEntries(softIrqFields.map((k, i) => [k, bigOr0(f[i + 2])])) as unknown as SoftIrqCounts;
    }
  }
  // An offline CPU has no line; keep its slot so indexes still name CPUs.
  return { ...out, cpuTotal, cpus: Array.from(cpus, (c) => c ?? zeroTimes) };
}

/** The host's /proc/stat. */
export async function readSystemStat(procDir = '/proc'): Promise<SystemStatEntry> {
  return parseSystemStat(await readFile(`${procDir}/stat`, 'utf8'));
}

/** Run-queue load averages over 1, 5 and 15 minutes. */
export interface LoadAverages {
  readonly load1: number;
  readonly load5: number;
  readonly load15: number;
}

/** Parses /proc/loadavg ("0.52 0.58 0.59 2/1234 5678"); undefined when it is not that shape. */
export function parseLoadAvg(text: string): LoadAverages | undefined {
  const [a, b, c] = text.trim().split(/\s+/).map(Number);
  if (a === undefined || b === undefined || c === undefined || [a, b, c].some((n) => !Number.isFinite(n))) return undefined;
  return { load1: a, load5: b, load15: c };
}

/** The host's load averages. */
export async function readLoadAvg(procDir = '/proc'): Promise<LoadAverages> {
  const text = await readFile(`${procDir}/loadavg`, 'utf8');
  const load = parseLoadAvg(text);
  if (!load) throw new Error(`${procDir}/loadavg: unexpected content ${JSON.stringify(text.slice(0, 80))}`);
  return load;
}

/** One logical CPU as /proc/cpuinfo describes it (upstream's CPUInfo fields). */
export interface CpuInfoEntry {
  readonly processor: number;
  readonly vendorId: string;
  readonly cpuFamily: string;
  readonly model: string;
  readonly modelName: string;
  readonly stepping: string;
  readonly microcode: string;
  readonly cpuMhz: number;
  readonly cacheSize: string;
  readonly physicalId: string;
  readonly siblings: number;
  readonly coreId: string;
  readonly cpuCores: number;
  readonly apicId: string;
  readonly initialApicId: string;
  readonly fpu: string;
  readonly fpuException: string;
  readonly cpuIdLevel: number;
  readonly wp: string;
  readonly flags: string[];
  readonly bugs: string[];
  readonly bogoMips: number;
  readonly clFlushSize: number;
  readonly cacheAlignment: number;
  readonly addressSizes: string;
  readonly powerManagement: string;
}

/**
 * Parses /proc/cpuinfo: one block per CPU, separated by blank lines. Keys are matched without case
 * because arm64 spells some of them differently ("BogoMIPS", "Features" for the flags).
 */
export function parseCpuInfo(text: string): CpuInfoEntry[] {
  const out: CpuInfoEntry[] = [];
  for (const block of text.split(/\n\s*\n/)) {
    const kv = new Map<string, string>();
    for (const line of block.split('\n')) {
      const at = line.indexOf(':');
      if (at < 0) continue;
      kv.set(line.slice(0, at).trim().toLowerCase(), line.slice(at + 1).trim());
    }
    const processor = kv.get('processor');
    if (processor === undefined || !/^\d+$/.test(processor)) continue;
    const s = (k: string): string => kv.get(k) ?? '';
    const n = (k: string): number => Number.parseFloat(s(k)) || 0;
    const words = (k: string): string[] => s(k).split(/\s+/).filter((w) => w !== '');
    out.push({
      processor: Number(processor),
      vendorId: s('vendor_id'),
      cpuFamily: s('cpu family'),
      model: s('model'),
      modelName: s('model name'),
      stepping: s('stepping'),
      microcode: s('microcode'),
      cpuMhz: n('cpu mhz'),
      cacheSize: s('cache size'),
      physicalId: s('physical id'),
      siblings: n('siblings'),
      coreId: s('core id'),
      cpuCores: n('cpu cores'),
      apicId: s('apicid'),
      initialApicId: s('initial apicid'),
      fpu: s('fpu'),
      fpuException: s('fpu_exception'),
      cpuIdLevel: n('cpuid level'),
      wp: s('wp'),
      flags: words(kv.has('flags') ? 'flags' : 'features'),
      bugs: words('bugs'),
      bogoMips: n('bogomips'),
      clFlushSize: n('clflush size'),
      cacheAlignment: n('cache_alignment'),
      addressSizes: s('address sizes'),
      powerManagement: s('power management'),
    });
  }
  return out;
}

/** The host's logical CPUs. */
export async function readCpuInfo(procDir = '/proc'): Promise<CpuInfoEntry[]> {
  return parseCpuInfo(await readFile(`${procDir}/cpuinfo`, 'utf8'));
}
