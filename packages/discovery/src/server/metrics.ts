import { Code } from '@talos-ts/cosi';
import type { StateStats } from './state.ts';

/** Counters of the service, rendered in the Prometheus text exposition format. */
export class Metrics {
  readonly #requests = new Map<string, number>();
  gcCollected = 0;
  watcherOverflows = 0;
  watchCoalesced = 0;

  /** Counts one finished (or, for Watch, started) request by method and status code. */
  request(method: string, code: Code | 0): void {
    const key = `${method}\u0000${code === 0 ? 'OK' : Code[code]}`;
    this.#requests.set(key, (this.#requests.get(key) ?? 0) + 1);
  }

  /** Requests counted so far for method (all codes). */
  requests(method: string): number {
    let n = 0;
    for (const [k, v] of this.#requests) if (k.startsWith(`${method}\u0000`)) n += v;
    return n;
  }

  /** The /metrics page. */
  render(stats: StateStats): string {
    const lines: string[] = [];
    const gauge = (name: string, help: string, value: number, type = 'gauge') => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`);
    };
    gauge('discovery_clusters', 'Clusters with at least one affiliate or watcher.', stats.clusters);
    gauge('discovery_affiliates', 'Affiliates stored across all clusters.', stats.affiliates);
    gauge('discovery_endpoints', 'Endpoints stored across all affiliates.', stats.endpoints);
    gauge('discovery_watchers', 'Open Watch streams.', stats.watchers);
    gauge('discovery_gc_collected_affiliates_total', 'Affiliates removed because their TTL ran out.', this.gcCollected, 'counter');
    gauge('discovery_watcher_overflows_total', 'Watch streams cut off because the client fell too far behind.', this.watcherOverflows, 'counter');
    gauge('discovery_watch_coalesced_total', 'Changes folded into an unsent one for the same affiliate.', this.watchCoalesced, 'counter');
    lines.push('# HELP discovery_requests_total gRPC requests by method and status code.', '# TYPE discovery_requests_total counter');
    for (const [k, v] of [...this.#requests].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const [method, code] = k.split('\u0000');
      lines.push(`discovery_requests_total{method="${method}",code="${code}"} ${v}`);
    }
    return lines.join('\n') + '\n';
  }
}
