// Glue between commands and the API client: builds the client from talosconfig and the global
// flags the way upstream's WithClient / WithClientMaintenance do, and turns failures into one line
// naming the node.

import type { Command } from 'commander';
import { Code, TalosError } from '@talos-ts/cosi';
import { createTalosClient, talosClientOptionsFromContext, type TalosClient } from '@talos-ts/machinery';
import { CliError, type CliIo } from './cli.ts';
import { openConfig, selectedContext } from './commands/config/config.ts';

interface Globals {
  talosconfig?: string;
  cluster?: string;
  context?: string;
  endpoints?: string[];
  nodes?: string[];
}

/** What a command body gets: the client (nodes already targeted), the nodes and a cancel signal. */
export interface ApiSession {
  readonly client: TalosClient;
  /** Nodes from -n or the context; empty only in insecure (maintenance) mode. */
  readonly nodes: readonly string[];
  readonly signal: AbortSignal;
  /** The name of a reply's node: its metadata hostname, else the only node or the endpoint used. */
  nodeName(hostname: string | undefined): string;
}

/** Options of {@link withApiClient}. */
export interface WithApiClientOptions {
  /** Maintenance mode: endpoints are the -n nodes (else -e), no client certificate, no verification. */
  readonly insecure?: boolean;
}

function describe(err: unknown, target: string): CliError {
  if (err instanceof CliError) return err;
  const e = TalosError.from(err);
  return new CliError(target ? `${target}: ${e.message}` : e.message);
}

/** Runs `body` with a client built as upstream talosctl builds it; Ctrl-C cancels the calls. */
export async function withApiClient<T>(cmd: Command, body: (s: ApiSession) => Promise<T>, options: WithApiClientOptions = {}): Promise<T> {
  const g = cmd.optsWithGlobals<Globals>();
  if (g.cluster !== undefined && g.cluster !== '') {
    throw new CliError('--cluster selects a cluster behind a proxy endpoint (Omni); Talos-TS has no such proxy: target nodes with --endpoints and --nodes');
  }
  const flagNodes = g.nodes ?? [];
  const flagEndpoints = g.endpoints ?? [];
  let client: TalosClient;
  let nodes: string[];
  if (options.insecure) {
    const endpoints = flagNodes.length > 0 ? flagNodes : flagEndpoints;
    if (endpoints.length === 0) throw new CliError('nodes are not set for the command: please use `--nodes` flag to set the node to run the command against');
    client = createTalosClient({ endpoints, insecure: true });
    nodes = [];
  } else {
    const { config } = await openConfig(cmd);
    const { context } = selectedContext(cmd, config);
    let opts;
    try {
      opts = talosClientOptionsFromContext(context, { endpoints: flagEndpoints, nodes: flagNodes });
    } catch (err) {
      throw new CliError(`error getting client credentials: ${TalosError.from(err).message}`);
    }
    if (opts.endpoints.length === 0) throw new CliError('no endpoints are set: please use `--endpoints` flag or `talosctl config endpoint` to set them');
    nodes = [...(opts.nodes ?? [])];
    if (nodes.length === 0) {
      throw new CliError('nodes are not set for the command: please use `--nodes` flag or configuration file to set the nodes to run the command against');
    }
    client = createTalosClient(opts);
  }
  const ac = new AbortController();
  const onSigint = (): void => ac.abort();
  process.once('SIGINT', onSigint);
  const nodeName = (hostname: string | undefined): string => {
    if (hostname) return hostname;
    if (nodes.length === 1) return nodes[0] ?? '';
    return (client.lastEndpoint ?? '').replace(/:\d+$/, '');
  };
  try {
    return await body({ client, nodes, signal: ac.signal, nodeName });
  } catch (err) {
    // Ctrl-C ends a follow/watch: that is a normal exit, not an error.
    if (ac.signal.aborted && err instanceof TalosError && err.code === Code.Canceled) return undefined as T;
    throw describe(err, nodes.length > 0 ? nodes.join(',') : client.endpoints.join(','));
  } finally {
    process.off('SIGINT', onSigint);
    client.close();
  }
}

/** Collects per-node failures of one-to-many replies (metadata.error) and reports them at the end. */
export class NodeErrors {
  readonly #lines: string[] = [];

  /** True (and remembered) when the message's metadata carries an error. */
  check(metadata: { hostname: string; error: string } | undefined, nodeName: (h: string | undefined) => string): boolean {
    if (!metadata || metadata.error === '') return false;
    this.#lines.push(`${nodeName(metadata.hostname)}: ${metadata.error}`);
    return true;
  }

  /** Adds a failure of a whole per-node call. */
  add(node: string, err: unknown): void {
    this.#lines.push(`${node}: ${TalosError.from(err).message}`);
  }

  /** Throws one CliError holding one line per failed node, if any failed. */
  throwIfAny(): void {
    if (this.#lines.length > 0) throw new CliError(this.#lines.join('\nerror: '));
  }
}

/**
 * Prints a stream of `common.Data` chunks (logs, dmesg) as lines prefixed with their node; chunks
 * may split lines anywhere, so each node's partial last line waits for its next chunk. Per-node
 * errors are collected and thrown at the end, after what the other nodes sent.
 */
export async function printDataStream(
  stream: AsyncIterable<{ metadata?: { hostname: string; error: string } | undefined; bytes: Uint8Array }>,
  session: Pick<ApiSession, 'nodeName'>,
  io: CliIo,
): Promise<void> {
  const errors = new NodeErrors();
  const partial = new Map<string, string>();
  try {
    for await (const data of stream) {
      if (errors.check(data.metadata, session.nodeName)) continue;
      const node = session.nodeName(data.metadata?.hostname);
      const lines = ((partial.get(node) ?? '') + Buffer.from(data.bytes).toString('utf8')).split('\n');
      partial.set(node, lines.pop() ?? '');
      for (const line of lines) io.out(`${node}: ${line}\n`);
    }
  } finally {
    for (const [node, rest] of partial) if (rest !== '') io.out(`${node}: ${rest}\n`);
  }
  errors.throwIfAny();
}
