import type { Controller, ControllerContext } from '@talos-ts/cosi';
import {
  ActiveMachineConfigId,
  MachineConfigType,
  NamespaceName,
  TimeServerId,
  TimeServerStatusType,
  TimeStatusId,
  TimeStatusType,
  type MachineConfigSpec,
  type TimeServerStatusSpec,
  type TimeStatusSpec,
} from '@talos-ts/machinery';
import { machineConfigOf } from '../config/parse.ts';
import { TimeSync, type AdjustableClock, type NtpExchange, type TimeSyncStatus } from '../../timed/sync.ts';

/** Upstream's default time server (constants.DefaultNTPServer). */
export const DEFAULT_NTP_SERVER = 'time.cloudflare.com';

/** Options of {@link SyncController}. */
export interface SyncControllerOptions {
  /** Container mode: the host owns the clock, sync is disabled as upstream. */
  readonly containerMode: boolean;
  /** The clock to correct (the kernel's on metal). */
  readonly adjuster: AdjustableClock;
  /** How one NTP query goes out (UDP on metal). */
  readonly exchange: NtpExchange;
  /** Passed to timed; tests shorten it. */
  readonly queryTimeoutMs?: number;
}

/**
 * time.SyncController: runs timed for the servers of the TimeServerStatus `timeservers` (what the
 * network controllers merged from the defaults, `ip=`, DHCP leases and machine.time.servers) and
 * publishes TimeStatus; machine.time still says whether sync is disabled and how long boot waits.
 * The first sync happens in the background; nothing at boot waits on it. Until the servers are
 * known no sync runs (TimeStatus reports not synced, or syncDisabled where sync is off anyway).
 */
export class SyncController implements Controller {
  readonly name = 'time.SyncController';
  readonly inputs = [
    { namespace: NamespaceName.config, type: MachineConfigType, id: ActiveMachineConfigId, kind: 'weak' as const },
    { namespace: NamespaceName.network, type: TimeServerStatusType, id: TimeServerId, kind: 'weak' as const },
  ];
  readonly outputs = [{ type: TimeStatusType, kind: 'exclusive' as const }];
  readonly #o: SyncControllerOptions;

  constructor(options: SyncControllerOptions) {
    this.#o = options;
  }

  async run(ctx: ControllerContext): Promise<void> {
    let sync: TimeSync | undefined;
    let wasIdle: boolean | undefined;
    let latest: TimeSyncStatus | undefined;
    let current = '';
    const bootMs = ctx.clock.now();
    try {
      for await (const _ of ctx.changes()) {
        const cfg = ctx.find<MachineConfigSpec>({ namespace: NamespaceName.config, type: MachineConfigType, id: ActiveMachineConfigId });
        const time = cfg ? machineConfigOf(cfg).config.machine?.time : undefined;
        const status = ctx.find<TimeServerStatusSpec>({ namespace: NamespaceName.network, type: TimeServerStatusType, id: TimeServerId });
        const servers = status?.spec.timeServers ?? [];
        // Off: container mode, machine.time.disabled; waiting: no servers known yet (both leave the clock alone).
        const off = this.#o.containerMode || time?.disabled === true;
        const idle = off || servers.length === 0;
        const changedServers = JSON.stringify(servers) !== current;
        current = JSON.stringify(servers);
        if (idle !== wasIdle) {
          await sync?.stop();
          sync = undefined;
          latest = undefined;
          wasIdle = idle;
          if (!idle) {
            sync = new TimeSync({
              servers,
              exchange: this.#o.exchange,
              adjuster: this.#o.adjuster,
              logger: ctx.logger,
              ...(this.#o.queryTimeoutMs !== undefined ? { queryTimeoutMs: this.#o.queryTimeoutMs } : {}),
              onStatus: (s) => {
                latest = s;
                ctx.requeueAfter(0);
              },
            });
            sync.start();
            ctx.logger.info('time sync started', { servers });
          }
        } else if (sync && changedServers) {
          sync.setServers(servers);
        }
        // machine.time.bootTimeout: past it, boot stops waiting and the clock counts as synced.
        let timedOut = false;
        const timeoutMs = time?.bootTimeout ? goDurationMs(time.bootTimeout) : 0;
        if (timeoutMs > 0 && !latest?.synced) {
          const left = bootMs + timeoutMs - ctx.clock.now();
          if (left <= 0) timedOut = true;
          else ctx.requeueAfter(left);
        }
        // With sync disabled the clock counts as synced, as upstream.
        const spec: TimeStatusSpec = off
          ? { synced: true, epoch: 0, syncDisabled: true }
          : { synced: (latest?.synced ?? false) || timedOut, epoch: latest?.epoch ?? 0, syncDisabled: false };
        ctx.modify<TimeStatusSpec>({ namespace: NamespaceName.runtime, type: TimeStatusType, id: TimeStatusId }, spec, (d) => {
          d.spec = spec;
        });
      }
    } finally {
      await sync?.stop();
    }
  }
}

/** A Go duration ("2m", "1m30s", "500ms") in milliseconds; 0 when it does not parse (validation reports it). */
function goDurationMs(text: string): number {
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let consumed = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(m[1]) * (unit[m[2]!] ?? 0);
    consumed += m[0].length;
  }
  return consumed === text.length ? total : 0;
}
