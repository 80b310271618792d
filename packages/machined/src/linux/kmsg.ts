import { closeSync, constants, openSync, readSync } from 'node:fs';
import { native } from './native.ts';

/** One kernel log record from /dev/kmsg. */
export interface KernelRecord {
  readonly facility: number;
  readonly level: number;
  readonly seq: number;
  readonly timestampUs: number;
  readonly message: string;
}

const LEVELS = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'];
const FACILITIES = ['kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron', 'authpriv', 'ftp'];

/** Parses one /dev/kmsg record (`prio,seq,usec,flags;message` plus continuation lines). */
export function parseKmsgRecord(text: string): KernelRecord | undefined {
  const semi = text.indexOf(';');
  if (semi < 0) return undefined;
  const [prio, seq, usec] = text.slice(0, semi).split(',').map(Number);
  if (prio === undefined || seq === undefined || usec === undefined || [prio, seq, usec].some((n) => !Number.isFinite(n))) return undefined;
  // Continuation lines (` KEY=value`) carry device metadata, not text.
  const message = (text.slice(semi + 1).split('\n')[0] ?? '').replace(/\\x([0-9a-f]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  return { facility: prio >> 3, level: prio & 7, seq, timestampUs: usec, message };
}

/** A record as `talosctl dmesg` prints it: `kern: info: [   12.345678]: message`. */
export function formatKernelRecord(r: KernelRecord): string {
  const secs = (r.timestampUs / 1e6).toFixed(6).padStart(12, ' ');
  return `${FACILITIES[r.facility] ?? String(r.facility)}: ${(LEVELS[r.level] ?? String(r.level)).padEnd(7)}: [${secs}]: ${r.message}`;
}

/**
 * Reads the kernel log from /dev/kmsg: everything buffered, then (with `follow`) new records as
 * they come, polling a non-blocking descriptor so no thread is parked on the device.
 */
export async function* readKernelLog(options: { follow: boolean; signal: AbortSignal; path?: string; pollMs?: number }): AsyncGenerator<KernelRecord> {
  const fd = openSync(options.path ?? '/dev/kmsg', constants.O_RDONLY | constants.O_NONBLOCK);
  const buf = Buffer.alloc(8192);
  try {
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // EPIPE: records were overwritten before we read them; the next read continues after them.
        if (code === 'EPIPE') continue;
        if (code !== 'EAGAIN') throw err;
        if (!options.follow || options.signal.aborted) return;
        await new Promise((r) => setTimeout(r, options.pollMs ?? 500));
        if (options.signal.aborted) return;
        continue;
      }
      const rec = parseKmsgRecord(buf.toString('utf8', 0, n));
      if (rec) yield rec;
    }
  } finally {
    closeSync(fd);
  }
}

/** Parses syslog(2) READ_ALL text (`<6>[    5.140900] message`); sequence numbers count lines. */
export function parseKlogText(text: string): KernelRecord[] {
  const out: KernelRecord[] = [];
  for (const line of text.split('\n')) {
    const m = /^<(\d+)>(?:\[\s*(\d+)\.(\d+)\]\s?)?(.*)$/.exec(line);
    if (!m) continue;
    const prio = Number(m[1]);
    const usec = m[2] !== undefined ? Number(m[2]) * 1e6 + Number((m[3] ?? '0').padEnd(6, '0').slice(0, 6)) : 0;
    out.push({ facility: prio >> 3, level: prio & 7, seq: out.length, timestampUs: usec, message: m[4] ?? '' });
  }
  return out;
}

/**
 * The whole kernel log buffer at once, through syslog(2). Used for a one-shot dmesg: non-blocking
 * /dev/kmsg reads were seen to stop early (EAGAIN) on the emulated VM while records remained.
 */
export function readKernelLogBuffer(): KernelRecord[] {
  return parseKlogText(native().klogReadAll());
}

/** The kernel log as `talosctl dmesg` lines; `onlyNew` skips what was buffered before the call. */
export async function* kernelLogLines(options: { follow: boolean; onlyNew: boolean; signal: AbortSignal }): AsyncGenerator<string> {
  if (!options.follow) {
    let records: KernelRecord[] | undefined;
    try {
      records = readKernelLogBuffer();
    } catch {
      // No addon (container platform in a checkout without a build): fall back to /dev/kmsg.
    }
    if (records) {
      // One message for the whole buffer: long streams of small messages were seen cut short
      // (~375 messages) on their way through apid; see the report of issue 7.
      if (!options.onlyNew && records.length > 0) yield records.map(formatKernelRecord).join('\n');
      return;
    }
  }
  let after = -1;
  if (options.onlyNew) for await (const r of readKernelLog({ follow: false, signal: options.signal })) after = r.seq;
  for await (const r of readKernelLog({ follow: options.follow, signal: options.signal })) {
    if (r.seq > after) yield formatKernelRecord(r);
  }
}
