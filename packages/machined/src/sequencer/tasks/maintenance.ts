import { TALOS_API_PORT, createSelfSignedCa, generateKey, machinePb, privateKeyToPkcs8Pem } from '@talos-ts/machinery';
import { machineEvents } from '../../events/machine-events.ts';
import { serve } from '../../server/serve.ts';
import { task, type Task } from '../phases.ts';
import type { MachineRuntime } from '../runtime.ts';

const Stage = machinePb.MachineStatusEvent_MachineStage;

/**
 * Without a config the node serves the maintenance API on :50000 (a self-signed certificate, no
 * client authentication, only what maintenance mode allows) until a config is applied to it.
 */
export const startMaintenanceService: Task<MachineRuntime> = task('startMaintenanceService', async ({ runtime: r }) => {
  const cycle = r.current();
  const address = r.options.address;
  r.logger.info('no configuration: entering maintenance mode', { address: `${address}:${TALOS_API_PORT}` });
  r.events.publish('machine.MachineStatusEvent', machineEvents.machineStatus(Stage.MAINTENANCE, false));
  const key = await generateKey('ecdsa');
  const now = Date.now();
  const cert = createSelfSignedCa({
    key,
    subject: { commonName: 'maintenance-service' },
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 24 * 3600_000),
    ipAddresses: [address],
  });
  const server = await serve({
    address: `${address}:${TALOS_API_PORT}`,
    tls: { certPem: cert.crtPem, keyPem: privateKeyToPkcs8Pem(key) },
    services: r.hooks.served(() => ({ kind: 'maintenance' })),
  });
  cycle.maintenance = server;
  cycle.servers.push(server);
  cycle.acceptConfig = async (checked) => {
    await r.store.write(checked.yaml);
    cycle.acceptConfig = undefined;
    cycle.config = checked;
    // Answer the ApplyConfiguration call first, then leave maintenance mode.
    setImmediate(() => {
      if (r.cycle === cycle) r.hooks.configReceived();
    });
  };
});

/** Leaves maintenance mode (once a config arrived): its API stops listening. */
export const stopMaintenanceService: Task<MachineRuntime> = task('stopMaintenanceService', async ({ runtime: r }) => {
  const cycle = r.current();
  const server = cycle.maintenance;
  if (!server) return;
  await server.close();
  cycle.maintenance = undefined;
});
