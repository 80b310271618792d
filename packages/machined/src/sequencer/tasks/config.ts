import { Code, TalosError } from '@talos-ts/cosi';
import { machinePb } from '@talos-ts/machinery';
import { machineEvents } from '../../events/machine-events.ts';
import { task, type Task } from '../phases.ts';
import type { MachineRuntime } from '../runtime.ts';

const Stage = machinePb.MachineStatusEvent_MachineStage;

/**
 * Loads the stored config for this cycle to boot. None: the node will wait in maintenance mode.
 * One that does not load is not booted, and it does not open maintenance mode either (that would
 * hand an unauthenticated apply-config to anyone on the network): the node says why on its log (the
 * console on metal) and in its events, and serves only its machine socket. To recover, replace the
 * file, apply a config over the machine socket, or reset the node.
 */
export const loadConfig: Task<MachineRuntime> = task('loadConfig', async ({ runtime: r }) => {
  const cycle = r.current();
  const stored = await r.store.load();
  if (stored.kind === 'valid') {
    cycle.config = stored.checked;
    return;
  }
  if (stored.kind === 'none') return;
  const reason = stored.error.message;
  r.bootFailure = reason;
  r.logger.error('refusing to boot: the stored configuration is invalid; not entering maintenance mode', {
    reason,
    recovery: 'replace the configuration file, apply a configuration over the machine socket, or reset the node',
  });
  r.events.publish('machine.MachineStatusEvent', machineEvents.machineStatus(Stage.BOOTING, false, [{ name: 'config', reason }]));
  throw new TalosError(Code.FailedPrecondition, reason);
});

/** Makes the cycle's config the active machine config resource, which the controllers act on. */
export const activateConfig: Task<MachineRuntime> = task('activateConfig', ({ runtime: r }) => {
  const cycle = r.current();
  if (!cycle.config) throw new TalosError(Code.FailedPrecondition, 'the node has no configuration to boot');
  r.events.publish('machine.MachineStatusEvent', machineEvents.machineStatus(Stage.BOOTING, false));
  r.setConfigResource(cycle, cycle.config.yaml);
});
