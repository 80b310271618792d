import type { Command } from 'commander';
import type { Timestamp } from '@bufbuild/protobuf/wkt';
import { NodeErrors, withApiClient } from '../../api.ts';
import type { CliIo, CommandRegistrar } from '../../cli.ts';
import { TabWriter } from '../../output/table.ts';

/** A timestamp as Go's time.Time.String() prints a UTC time: `2006-01-02 15:04:05.999999999 +0000 UTC`. */
export function goTimeString(ts: Timestamp): string {
  const d = new Date(Number(ts.seconds) * 1000);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const frac = ts.nanos > 0 ? `.${String(ts.nanos).padStart(9, '0').replace(/0+$/, '')}` : '';
  return (
    `${p(d.getUTCFullYear(), 4)}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}${frac} +0000 UTC`
  );
}

/** `talosctl time [--check server]`: each node's time next to its NTP server's, as upstream prints them. */
export const registerTime: CommandRegistrar = (parent: Command, io: CliIo) => {
  parent
    .command('time')
    .description('Gets current server time')
    .option('--check <server>', 'checks server time against specified ntp server')
    .action(async (opts: { check?: string }, cmd: Command) => {
      await withApiClient(cmd, async (s) => {
        const res = opts.check ? await s.client.time.timeCheck({ server: opts.check }, { signal: s.signal }) : await s.client.time.time({}, { signal: s.signal });
        const errors = new NodeErrors();
        const w = new TabWriter(io.out);
        w.row(['NODE', 'NTP-SERVER', 'NODE-TIME', 'NTP-SERVER-TIME']);
        for (const m of res.messages) {
          if (errors.check(m.metadata, s.nodeName)) continue;
          const node = s.nodeName(m.metadata?.hostname);
          if (!m.localtime) {
            errors.add(node, new Error('error parsing local time'));
            continue;
          }
          if (!m.remotetime) {
            errors.add(node, new Error('error parsing remote time'));
            continue;
          }
          w.row([node, m.server, goTimeString(m.localtime), goTimeString(m.remotetime)]);
        }
        w.flush();
        errors.throwIfAny();
      });
    });
};
