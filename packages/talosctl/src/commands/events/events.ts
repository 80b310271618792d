import type { Command } from 'commander';
import { fromBinary, type DescMessage } from '@bufbuild/protobuf';
import { machinePb } from '@talos-ts/machinery';
import { NodeErrors, withApiClient } from '../../api.ts';
import { CliError, type CliIo, type CommandRegistrar } from '../../cli.ts';
import { TabWriter } from '../../output/table.ts';

/** Seconds of a Go duration string ("90s", "5m", "1h30m"). */
export function parseDurationSeconds(text: string): number {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
  const unit: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  let total = 0;
  let consumed = 0;
  for (const m of text.matchAll(re)) {
    total += Number(m[1]) * (unit[m[2] ?? 's'] ?? 1);
    consumed += m[0].length;
  }
  if (text === '0') return 0;
  if (consumed !== text.length || consumed === 0) throw new CliError(`invalid duration "${text}"`);
  return Math.floor(total);
}

function decode<T extends DescMessage>(schema: T, typeUrl: string, value: Uint8Array) {
  return typeUrl.endsWith(`/${schema.typeName}`) ? fromBinary(schema, value) : undefined;
}

/** Source and message columns of one event payload; undefined for kinds not shown. */
function describe(typeUrl: string, value: Uint8Array): [string, string] | undefined {
  const seq = decode(machinePb.SequenceEventSchema, typeUrl, value);
  if (seq) return [seq.sequence, seq.error ? `error: ${seq.error.message}` : machinePb.SequenceEvent_Action[seq.action]];
  const phase = decode(machinePb.PhaseEventSchema, typeUrl, value);
  if (phase) return [phase.phase, machinePb.PhaseEvent_Action[phase.action]];
  const task = decode(machinePb.TaskEventSchema, typeUrl, value);
  if (task) return [task.task, machinePb.TaskEvent_Action[task.action]];
  const svc = decode(machinePb.ServiceStateEventSchema, typeUrl, value);
  if (svc) return [svc.service, `${machinePb.ServiceStateEvent_Action[svc.action]}: ${svc.message}`];
  return undefined;
}

/** `talosctl events`: the node's runtime event stream (--tail/--since/--duration replay history). */
export const registerEvents: CommandRegistrar = (parent: Command, io: CliIo) => {
  parent
    .command('events')
    .description('Stream runtime events')
    .option('--tail <n>', 'show specified number of past events (use -1 to show full history, default is to show no history)', '0')
    .option('--duration <d>', 'show events for the past duration interval (one second resolution, default is to show no history)')
    .option('--since <id>', 'show events after the specified event ID (default is to show no history)')
    .action(async (opts: { tail: string; duration?: string; since?: string }, cmd: Command) => {
      const tail = Number(opts.tail);
      if (!Number.isInteger(tail)) throw new CliError(`invalid argument "${opts.tail}" for "--tail" flag`);
      const tailSeconds = opts.duration ? parseDurationSeconds(opts.duration) : 0;
      await withApiClient(cmd, async (s) => {
        const errors = new NodeErrors();
        const w = new TabWriter(io.out);
        // As upstream's tabwriter: the header goes out with the first event, aligned to it.
        w.row(['NODE', 'ID', 'EVENT', 'SOURCE', 'MESSAGE']);
        const stream = s.client.machine.events({ tailEvents: tail, tailSeconds, tailId: opts.since ?? '' }, { signal: s.signal });
        for await (const ev of stream) {
          if (errors.check(ev.metadata, s.nodeName)) continue;
          const typeUrl = ev.data?.typeUrl ?? '';
          const cols = describe(typeUrl, ev.data?.value ?? new Uint8Array());
          if (!cols) continue;
          w.row([s.nodeName(ev.metadata?.hostname), ev.id, typeUrl, ...cols]);
          w.flush();
        }
        w.flush();
        errors.throwIfAny();
      });
    });
};
