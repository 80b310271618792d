// Loopback port forwards into the cluster network without configuring the host's namespace.
//
// talosctl (in the host namespace) opens listening sockets on 127.0.0.1 and hands them over an
// IPC channel to a forwarder process living in the cluster namespace. A socket keeps the namespace
// it was created in, so the forwarder accepts on the host's loopback while its outgoing
// connections start from the cluster namespace, where the node addresses are on the bridge.
// No routes, links or firewall rules are added to the host; destroy just kills the forwarder.

import { createServer, connect, type Server, type Socket } from 'node:net';
import type { ChildProcess } from 'node:child_process';
import { Code, TalosError, createLogger } from '@talos-ts/cosi';
import { spawnInNetns, spawned } from './processes.ts';

/** One forward: connections to 127.0.0.1:port go to target (`ip:port`). */
export interface Forward {
  readonly port: number;
  readonly target: string;
}

/** Messages between talosctl and the forwarder (child → parent: `ready`). */
type ForwardMessage = { readonly type: 'forward'; readonly target: string } | { readonly type: 'ready'; readonly target: string } | { readonly type: 'done' };

function proxy(client: Socket, target: string, onError: (err: Error) => void): void {
  const i = target.lastIndexOf(':');
  const upstream = connect({ host: target.slice(0, i), port: Number(target.slice(i + 1)) });
  const fail = (err: Error): void => {
    onError(err);
    client.destroy();
    upstream.destroy();
  };
  upstream.once('error', fail);
  client.once('error', fail);
  client.pipe(upstream);
  upstream.pipe(client);
  client.once('close', () => upstream.destroy());
  upstream.once('close', () => client.destroy());
}

/**
 * The forwarder program (`talos-forwarder --cluster-dir DIR`): serves every listening socket it is
 * sent until SIGTERM. The cluster dir on the command line lets destroy find it by scanning /proc.
 */
export async function forwarderMain(argv: readonly string[]): Promise<number> {
  const log = createLogger().child({ component: 'talos-forwarder' });
  if (!process.send) {
    log.error('must be started by talosctl cluster create (needs an IPC channel)', { argv: argv.join(' ') });
    return 1;
  }
  const servers: Server[] = [];
  process.on('message', (msg: ForwardMessage, handle: unknown) => {
    if (msg.type === 'forward' && handle && typeof (handle as Server).on === 'function') {
      const server = handle as Server;
      server.on('connection', (sock: Socket) => proxy(sock, msg.target, (err) => log.warn('forward failed', { target: msg.target, err: err.message })));
      servers.push(server);
      log.info('forwarding', { target: msg.target });
      process.send?.({ type: 'ready', target: msg.target } satisfies ForwardMessage);
    } else if (msg.type === 'done') {
      // talosctl is about to exit: the listening sockets alone keep this process alive.
      process.disconnect?.();
    }
  });
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  for (const s of servers) s.close();
  return 0;
}

async function listenLoopback(): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
  });
  return server;
}

/** Options of {@link startForwarder}. */
export interface StartForwarderOptions {
  readonly netns: string;
  readonly targets: readonly string[];
  readonly logFile: string;
  /** Put on the forwarder's command line so destroy can find it. */
  readonly clusterDir: string;
  readonly timeoutMs?: number;
}

/** A started forwarder: its pid and one loopback port per target, in the order given. */
export interface StartedForwarder {
  readonly pid: number;
  readonly forwards: readonly Forward[];
}

function awaitReady(child: ChildProcess, target: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new TalosError(Code.DeadlineExceeded, `forwarder did not take the socket for ${target} within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (m: ForwardMessage): void => {
      if (m.type === 'ready' && m.target === target) done();
    };
    const onExit = (code: number | null): void => done(new TalosError(Code.Internal, `forwarder exited (code ${code ?? 'signal'}) before taking its sockets`));
    const done = (err?: Error): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve();
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/**
 * Starts the forwarder in the cluster namespace and hands it one loopback listening socket per
 * target. Our copies are closed once it holds them, so only the forwarder accepts.
 */
export async function startForwarder(options: StartForwarderOptions): Promise<StartedForwarder> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const child = spawnInNetns({ netns: options.netns, program: 'talos-forwarder', args: ['--cluster-dir', options.clusterDir], logFile: options.logFile, ipc: true });
  const pid = await spawned(child);
  const servers: Server[] = [];
  try {
    const forwards: Forward[] = [];
    for (const target of options.targets) {
      const server = await listenLoopback();
      servers.push(server);
      const ready = awaitReady(child, target, timeoutMs);
      child.send({ type: 'forward', target } satisfies ForwardMessage, server);
      await ready;
      const addr = server.address();
      if (addr === null || typeof addr === 'string') throw new TalosError(Code.Internal, 'loopback listener has no port');
      forwards.push({ port: addr.port, target });
    }
    child.send({ type: 'done' } satisfies ForwardMessage);
    child.disconnect();
    child.unref();
    return { pid, forwards };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  } finally {
    for (const s of servers) s.close();
  }
}
