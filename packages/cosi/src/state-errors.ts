import { Code, TalosError } from './errors.ts';
import { pointerKey, type Pointer } from './resource.ts';

/** Why a write conflicted with the stored resource. */
export type ConflictReason = 'version' | 'owner' | 'phase' | 'finalizers';

/** A state error: not found, already exists, or a conflict with the stored resource. */
export class StateError extends TalosError {
  readonly kind: 'notFound' | 'alreadyExists' | 'conflict';
  readonly reason: ConflictReason | undefined;

  constructor(kind: StateError['kind'], code: Code, message: string, reason?: ConflictReason) {
    super(code, message, reason === undefined ? {} : { details: { reason } });
    this.name = 'StateError';
    this.kind = kind;
    this.reason = reason;
  }
}

/** The resource does not exist. */
export function notFoundError(p: Pointer): StateError {
  return new StateError('notFound', Code.NotFound, `resource ${pointerKey(p)} doesn't exist`);
}

/** A resource with this identity exists already. */
export function alreadyExistsError(p: Pointer): StateError {
  return new StateError('alreadyExists', Code.AlreadyExists, `resource ${pointerKey(p)} already exists`);
}

/** The write does not fit the stored resource's version, owner, phase or finalizers. */
export function conflictError(p: Pointer, reason: ConflictReason, detail: string): StateError {
  return new StateError('conflict', Code.FailedPrecondition, `resource ${pointerKey(p)}: ${reason} conflict: ${detail}`, reason);
}

/** True when err says the resource does not exist. */
export function isNotFound(err: unknown): err is StateError {
  return err instanceof StateError && err.kind === 'notFound';
}

/** True when err says the resource exists already. */
export function isAlreadyExists(err: unknown): err is StateError {
  return err instanceof StateError && err.kind === 'alreadyExists';
}

/** True when err is a version, owner, phase or finalizer conflict (optionally of one reason). */
export function isConflict(err: unknown, reason?: ConflictReason): err is StateError {
  return err instanceof StateError && err.kind === 'conflict' && (reason === undefined || err.reason === reason);
}
