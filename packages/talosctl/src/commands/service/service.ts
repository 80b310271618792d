import type { Command } from 'commander';
import { timestampDate } from '@bufbuild/protobuf/wkt';
import type { machinePb } from '@talos-ts/machinery';
import { NodeErrors, withApiClient, type ApiSession } from '../../api.ts';
import { CliError, type CliIo, type CommandRegistrar } from '../../cli.ts';
import { TabWriter, goDuration } from '../../output/table.ts';

function healthStatus(s: machinePb.ServiceInfo): string {
  if (!s.health || s.health.unknown) return '?';
  return s.health.healthy ? 'OK' : 'Fail';
}

function lastEvent(s: machinePb.ServiceInfo): machinePb.ServiceEvent | undefined {
  const events = s.events?.events ?? [];
  return events[events.length - 1];
}

function since(ts: machinePb.ServiceEvent['ts'], now: number): string {
  return ts ? goDuration(now - timestampDate(ts).getTime()) : '';
}

async function list(s: ApiSession, io: CliIo): Promise<void> {
  const res = await s.client.machine.serviceList({}, { signal: s.signal });
  const errors = new NodeErrors();
  const now = Date.now();
  const w = new TabWriter(io.out);
  w.row(['NODE', 'SERVICE', 'STATE', 'HEALTH', 'LAST CHANGE', 'LAST EVENT']);
  for (const m of res.messages) {
    if (errors.check(m.metadata, s.nodeName)) continue;
    for (const svc of m.services) {
      const last = lastEvent(svc);
      w.row([s.nodeName(m.metadata?.hostname), svc.id, svc.state, healthStatus(svc), `${since(last?.ts, now)} ago`, last?.msg ?? '<none>']);
    }
  }
  w.flush();
  errors.throwIfAny();
}

async function info(s: ApiSession, io: CliIo, id: string): Promise<void> {
  const res = await s.client.machine.serviceList({}, { signal: s.signal });
  const errors = new NodeErrors();
  const now = Date.now();
  const w = new TabWriter(io.out);
  let found = 0;
  for (const m of res.messages) {
    if (errors.check(m.metadata, s.nodeName)) continue;
    for (const svc of m.services) {
      if (svc.id !== id) continue;
      found++;
      w.row(['NODE', s.nodeName(m.metadata?.hostname)]);
      w.row(['ID', svc.id]);
      w.row(['STATE', svc.state]);
      w.row(['HEALTH', healthStatus(svc)]);
      if (svc.health?.lastMessage) w.row(['LAST HEALTH MESSAGE', svc.health.lastMessage]);
      let label = 'EVENTS';
      // Newest first, as upstream shows them.
      for (const ev of [...(svc.events?.events ?? [])].reverse()) {
        w.row([label, `[${ev.state}]: ${ev.msg} (${since(ev.ts, now)} ago)`]);
        label = '';
      }
    }
  }
  w.flush();
  errors.throwIfAny();
  if (found === 0) throw new CliError(`service "${id}" is not registered on any nodes`);
}

async function control(s: ApiSession, io: CliIo, id: string, action: 'start' | 'stop' | 'restart'): Promise<void> {
  const opts = { signal: s.signal };
  const res =
    action === 'start'
      ? await s.client.machine.serviceStart({ id }, opts)
      : action === 'stop'
        ? await s.client.machine.serviceStop({ id }, opts)
        : await s.client.machine.serviceRestart({ id }, opts);
  const errors = new NodeErrors();
  const w = new TabWriter(io.out);
  w.row(['NODE', 'RESPONSE']);
  for (const m of res.messages) {
    if (errors.check(m.metadata, s.nodeName)) continue;
    w.row([s.nodeName(m.metadata?.hostname), m.resp]);
  }
  w.flush();
  errors.throwIfAny();
}

/** `talosctl service [<id> [start|stop|restart|status]]` (alias `services`): list, inspect and control services. */
export const registerService: CommandRegistrar = (parent: Command, io: CliIo) => {
  parent
    .command('service')
    .alias('services')
    .description('Retrieve the state of a service (or all services), control service state')
    .argument('[id]', 'service id')
    .argument('[action]', 'start, stop, restart or status', 'status')
    .action(async (id: string | undefined, action: string, _opts: unknown, cmd: Command) => {
      await withApiClient(cmd, async (s) => {
        switch (action) {
          case 'status':
            return id === undefined ? list(s, io) : info(s, io, id);
          case 'start':
          case 'stop':
          case 'restart':
            if (id === undefined) throw new CliError(`service id is required for "${action}"`);
            return control(s, io, id, action);
          default:
            throw new CliError(`unsupported service action: "${action}"`);
        }
      });
    });
};
