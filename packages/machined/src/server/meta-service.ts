import { Code, TalosError } from '@talos-ts/cosi';
import type { machinePb } from '@talos-ts/machinery';
import type { MetaStore } from '../meta/store.ts';
import type { PartialImplementation } from './implement.ts';

/** What MachineService/MetaWrite and /MetaDelete need from the node. */
export interface MetaBackend {
  /** `metal` or `container` (upstream's runtime mode). */
  platformMode(): string;
  readonly meta: MetaStore;
}

function checkRequest(backend: MetaBackend, key: number): void {
  // Upstream's container mode has no META (its MetaKV capability is off).
  if (backend.platformMode() !== 'metal') throw new TalosError(Code.FailedPrecondition, `method is not supported in ${backend.platformMode()} mode`);
  if (key > 255) throw new TalosError(Code.InvalidArgument, 'key must be a uint8');
}

/**
 * MachineService/MetaWrite and /MetaDelete with upstream's answers: a full META is
 * ResourceExhausted ("meta write failed"), a missing key NotFound ("meta key not found").
 */
export function createMetaService(backend: MetaBackend): PartialImplementation<typeof machinePb.MachineService> {
  return {
    metaWrite(req) {
      checkRequest(backend, req.key);
      backend.meta.write(req.key, req.value);
      return { messages: [{}] };
    },
    metaDelete(req) {
      checkRequest(backend, req.key);
      backend.meta.delete(req.key);
      return { messages: [{}] };
    },
  };
}
