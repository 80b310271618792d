import { Code, TalosError } from '@talos-ts/cosi';
import { Metadata } from '@grpc/grpc-js';
import type { StatusObject, status as GrpcStatus } from '@grpc/grpc-js';

/** The status a handler failure is sent as: TalosError codes map one to one, anything else is Unknown. */
export function toGrpcStatus(err: unknown): StatusObject {
  const e = TalosError.from(err);
  return { code: e.code as number as GrpcStatus, details: e.message, metadata: new Metadata() };
}

/** Turns a grpc-js client error (a ServiceError) into a TalosError carrying the same code. */
export function fromGrpcError(err: unknown): TalosError {
  if (err instanceof TalosError) return err;
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'number') {
    const details = 'details' in err && typeof err.details === 'string' ? err.details : String(err);
    const code = err.code >= 1 && err.code <= 16 ? (err.code as Code) : Code.Unknown;
    return new TalosError(code, details, { cause: err });
  }
  return TalosError.from(err);
}
