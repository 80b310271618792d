import type { TalosClient } from '@talos-ts/machinery';
import type { ApiSession } from './api.ts';

/** One node to talk to one-to-one (the COSI state API is not fanned out by apid). */
export interface NodeTarget {
  readonly node: string;
  readonly client: TalosClient;
}

/** A `node: X` view per targeted node; in maintenance mode the endpoint itself, named by its host. */
export function nodeTargets(s: ApiSession): NodeTarget[] {
  if (s.nodes.length > 0) return s.nodes.map((node) => ({ node, client: s.client.withNode(node) }));
  const first = s.client.endpoints[0] ?? '';
  return [{ node: first.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1'), client: s.client }];
}
