// A service writing far more than its log bound: lines per second through ServiceLog with its
// on-disk files, and what the files hold afterwards (bounded at two caps). Prints one JSON object.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceLog, defaultLogSizeBytes } from '@talos-ts/machined';

const LINES = 200_000;
const line = (i: number): string => `${new Date(0).toISOString()} line ${i} ${'x'.repeat(200)}`;

const dir = mkdtempSync(join(tmpdir(), 'svclog-bench-'));
try {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const rss0 = process.memoryUsage().rss;
  const heap0 = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  const start = performance.now();
  let written = 0;
  {
    await using log = new ServiceLog('flood', { logDir: dir });
    for (let i = 0; i < LINES; i++) {
      const l = line(i);
      log.append(l);
      written += l.length + 1;
      // Output reaches a service's log over many event-loop turns, not in one synchronous burst.
      if (i % 256 === 0) await new Promise((r) => setImmediate(r));
    }
  }
  const seconds = (performance.now() - start) / 1000;
  const size = (name: string): number => {
    try {
      return statSync(join(dir, name)).size;
    } catch {
      return 0;
    }
  };
  const current = size('flood.log');
  const previous = size('flood.log.1');
  gc?.();
  const rssAfter = process.memoryUsage().rss;
  const heapAfter = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  const restart = new ServiceLog('flood', { logDir: dir });
  const restoredLines = restart.tail().length;
  await restart[Symbol.asyncDispose]();
  console.log(
    JSON.stringify({
      bench: 'service-log-flood',
      capBytesPerFile: defaultLogSizeBytes,
      writtenBytes: written,
      linesPerSecond: Math.round(LINES / seconds),
      megabytesPerSecond: Math.round((written / 1e6 / seconds) * 10) / 10,
      fileBytes: { current, previous, total: current + previous, boundBytes: 2 * defaultLogSizeBytes },
      restoredLinesAfterRestart: restoredLines,
      rssGrowthAfterGcMiB: Math.round(((rssAfter - rss0) / 2 ** 20) * 10) / 10,
      heapGrowthAfterGcMiB: Math.round(((heapAfter - heap0) / 2 ** 20) * 10) / 10,
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
