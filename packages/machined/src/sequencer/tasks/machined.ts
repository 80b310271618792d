import { mkdir } from 'node:fs/promises';
import { Code, InMemoryState, Runtime, TalosError } from '@talos-ts/cosi';
import { TAG, newVersion, registerTalosResources } from '@talos-ts/machinery';
import { join } from 'node:path';
import { SharedAddressRelease } from '../../controllers/network/operator-vip.ts';
import { registerControllers } from '../../controllers/register.ts';
import { lazyWireGuardLink } from '../../linux/kubespan-host.ts';
import { hostNetworkOptions } from '../../linux/network-host.ts';
import { defaultHostname } from '../../platform/container.ts';
import { principalFromMetadata } from '../../server/authz.ts';
import { serve } from '../../server/serve.ts';
import { task, type Task } from '../phases.ts';
import type { Cycle, MachineRuntime } from '../runtime.ts';

/**
 * Starts a new cycle: the state directories, the COSI state with its controllers, and machined's
 * API on its unix socket (what apid proxies to).
 */
export const startMachined: Task<MachineRuntime> = task('startMachined', async ({ runtime: r }) => {
  if (r.halted) throw new TalosError(Code.FailedPrecondition, 'node is powered off');
  for (const dir of [r.paths.root, r.paths.logDir, r.paths.varDir]) await mkdir(dir, { recursive: true, mode: 0o700 });
  r.bootFailure = undefined;
  const state = new InMemoryState();
  registerTalosResources(state);
  state.create(newVersion({ version: TAG }));
  try {
    r.meta.publishTo(state);
  } catch (err) {
    // An unreadable META must not keep the node from booting (upstream logs and goes on too).
    r.logger.warn('META not loaded', { error: (err as Error).message });
  }
  const runtime = new Runtime(state, { logger: r.logger });
  const sharedAddresses = new SharedAddressRelease();
  const identity = r.options.defaultHostname ?? defaultHostname(r.options.address);
  const network = await hostNetworkOptions({
    vip: { etcd: async () => r.cycle?.etcd?.client(), identity, release: sharedAddresses },
    platform: r.options.platform,
    ownsNetwork: r.options.ownsNetwork ?? false,
    ...(r.options.netnsPath ? { netnsPath: r.options.netnsPath } : {}),
    ...(r.options.cmdline !== undefined ? { cmdline: r.options.cmdline } : {}),
    defaultHostname: identity,
    etcDir: join(r.paths.root, 'system', 'etc'),
    logger: r.logger,
  });
  const netns = r.options.netnsPath ? { netnsPath: r.options.netnsPath } : {};
  const wireguard = network.ownsNetwork ? lazyWireGuardLink(netns) : undefined;
  registerControllers(runtime, {
    network,
    ...(wireguard ? { kubespan: { link: wireguard, ...netns } } : {}),
    platform: r.options.platform,
    address: r.options.address,
    paths: r.paths,
    ...(r.options.defaultHostname !== undefined ? { defaultHostname: r.options.defaultHostname } : {}),
    ...(r.options.apiCertLifetimeMs !== undefined ? { apiCertLifetimeMs: r.options.apiCertLifetimeMs } : {}),
    ...(r.options.etcdCertLifetimeMs !== undefined ? { etcdCertLifetimeMs: r.options.etcdCertLifetimeMs } : {}),
    ...(r.options.discoveryTtlMs !== undefined ? { discoveryTtlMs: r.options.discoveryTtlMs } : {}),
  });
  const abort = new AbortController();
  // The link's netlink sockets live as long as the cycle's controllers do.
  const runtimeDone = runtime.run(abort.signal).finally(() => wireguard?.[Symbol.dispose]());
  const cycle: Cycle = { abort, state, runtime, runtimeDone, servers: [], sharedAddresses };
  r.cycle = cycle;
  const socket = await serve({ address: `unix:${r.paths.machinedSocket}`, services: r.hooks.served((ctx) => principalFromMetadata(ctx.metadata)) });
  cycle.servers.push(socket);
});

/**
 * Ends the cycle: the supervisor's services, machined's servers (the machine socket and maintenance
 * API) and the controllers. A try-mode config's revert timer ends with it.
 */
export const stopAllServices: Task<MachineRuntime> = task('stopAllServices', async ({ runtime: r }) => {
  const cycle = r.cycle;
  r.clearTry();
  if (!cycle) return;
  // A VIP holder resigns while etcd still runs, so another control plane takes the address at once.
  await cycle.sharedAddresses?.release();
  await cycle.supervisor?.stopAll();
  await cycle.supervisor?.[Symbol.asyncDispose]();
  await Promise.all(cycle.servers.map((s) => s.close()));
  cycle.abort.abort();
  await cycle.runtimeDone;
  if (r.cycle === cycle) r.cycle = undefined;
});
