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
