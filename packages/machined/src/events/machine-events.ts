import { AnySchema, type Any } from '@bufbuild/protobuf/wkt';
import { create, toBinary, type DescMessage, type MessageInitShape } from '@bufbuild/protobuf';
import { commonPb, machinePb } from '@talos-ts/machinery';

/** Packs an event payload with upstream's type URL prefix (`talos/runtime/<type>`), which clients match on. */
function pack<D extends DescMessage>(schema: D, value: MessageInitShape<D>): Any {
  return create(AnySchema, { typeUrl: `talos/runtime/${schema.typeName}`, value: toBinary(schema, create(schema, value)) });
}

/** Why a sequence reports an error event: as upstream, LOCKED when it could not start, CANCELED when taken over. */
export type SequenceErrorCode = 'fatal' | 'locked' | 'canceled';

const errorCodes: Record<SequenceErrorCode, commonPb.Code> = {
  fatal: commonPb.Code.FATAL,
  locked: commonPb.Code.LOCKED,
  canceled: commonPb.Code.CANCELED,
};

/** Builds the typed payloads of machine events. */
export const machineEvents = {
  serviceState: (service: string, state: string, message: string) =>
    pack(machinePb.ServiceStateEventSchema, {
      service,
      action: (machinePb.ServiceStateEvent_Action as unknown as Record<string, number>)[state.toUpperCase()] ?? 0,
      message,
    }),
  sequence: (sequence: string, start: boolean) =>
    pack(machinePb.SequenceEventSchema, {
      sequence,
      action: start ? machinePb.SequenceEvent_Action.START : machinePb.SequenceEvent_Action.STOP,
    }),
  /** A sequence that failed or did not start: upstream publishes a NOOP action carrying the error. */
  sequenceError: (sequence: string, code: SequenceErrorCode, message: string) =>
    pack(machinePb.SequenceEventSchema, { sequence, action: machinePb.SequenceEvent_Action.NOOP, error: { code: errorCodes[code], message } }),
  phase: (phase: string, start: boolean) =>
    pack(machinePb.PhaseEventSchema, { phase, action: start ? machinePb.PhaseEvent_Action.START : machinePb.PhaseEvent_Action.STOP }),
  task: (task: string, start: boolean) =>
    pack(machinePb.TaskEventSchema, { task, action: start ? machinePb.TaskEvent_Action.START : machinePb.TaskEvent_Action.STOP }),
  machineStatus: (stage: machinePb.MachineStatusEvent_MachineStage, ready: boolean, unmetConditions: readonly { name: string; reason: string }[] = []) =>
    pack(machinePb.MachineStatusEventSchema, { stage, status: { ready, unmetConditions: [...unmetConditions] } }),
};
