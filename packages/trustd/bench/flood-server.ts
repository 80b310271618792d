// The trustd side of trustd.bench.ts, in its own process so its CPU time is measured apart from
// the flooding client's. Logs go to stderr as JSON lines, as in the trustd program, where the
// parent counts the bytes. Answers `usage` messages with this process's CPU time.
import { createLogger } from '@talos-ts/cosi';
import type { FailedTokenLimiterOptions } from '../src/index.ts';
import { createTrustd } from '../src/index.ts';

const [certsDir = '', limitsJson = '{}'] = process.argv.slice(2);
// JSON has no Infinity: the parent spells "no limit" as null.
const limits = Object.fromEntries(Object.entries(JSON.parse(limitsJson) as Record<string, number | null>).map(([k, v]) => [k, v ?? Infinity])) as FailedTokenLimiterOptions;
const trustd = createTrustd({ listen: '127.0.0.5:0', certsDir, logger: createLogger({ level: 'info' }), failedTokenLimits: limits });
const address = await trustd.listen();
process.on('message', (m) => {
  if (m === 'usage') process.send?.({ usage: process.cpuUsage() });
  if (m === 'stop') void trustd.close(0).then(() => process.exit(0));
});
process.send?.({ address });
