import { checkUpgradeSupported, parseUpgradeImage, UPGRADE_ACK, type UpgradeSource } from '@talos-ts/machinery';
import { Code, TalosError } from '@talos-ts/cosi';
import type { PartialImplementation } from './implement.ts';
import type { machinePb } from '@talos-ts/machinery';

/** An upgrade the API accepted: where the new version comes from and upstream's options. */
export interface UpgradeOrder {
  readonly source: UpgradeSource;
  readonly preserve: boolean;
  readonly stage: boolean;
  readonly force: boolean;
}

/** What MachineService/Upgrade and /Rollback need from the node. */
export interface UpgradeBackend {
  /** `metal` or `container` (upstream's runtime mode). */
  platformMode(): string;
  /**
   * Starts the upgrade sequence once its inputs are checked; resolves with the actor id of the
   * sequence, rejects (the node unchanged) when it may not start. A control plane may wait here
   * for another one's upgrade, bounded by `signal` (the request's). Undefined: not implemented here.
   */
  readonly upgrade?: (order: UpgradeOrder, signal: AbortSignal) => Promise<string>;
  /** Flips the default slot and starts the reboot; undefined: not implemented here. */
  readonly rollback?: () => Promise<void>;
}

/** MachineService/Upgrade and /Rollback: refused off metal and for image references that cannot work yet. */
export function createUpgradeService(backend: UpgradeBackend): PartialImplementation<typeof machinePb.MachineService> {
  return {
    async upgrade(req, ctx) {
      checkUpgradeSupported(backend.platformMode());
      const source = parseUpgradeImage(req.image);
      if (!backend.upgrade) throw new TalosError(Code.Unimplemented, 'upgrade: this node cannot write its inactive slot yet');
      const actorId = await backend.upgrade({ source, preserve: req.preserve, stage: req.stage, force: req.force }, ctx.signal);
      return { messages: [{ ack: UPGRADE_ACK, actorId }] };
    },
    async rollback() {
      checkUpgradeSupported(backend.platformMode());
      if (!backend.rollback) throw new TalosError(Code.Unimplemented, 'rollback: this node cannot change its boot slot yet');
      await backend.rollback();
      return { messages: [{}] };
    },
  };
}
