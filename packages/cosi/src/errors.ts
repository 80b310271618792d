/**
 * The closed set of error codes. They mirror gRPC status codes one to one, so the API edge maps
 * them without a table of special cases.
 */
export enum Code {
  Canceled = 1,
  Unknown = 2,
  InvalidArgument = 3,
  DeadlineExceeded = 4,
  NotFound = 5,
  AlreadyExists = 6,
  PermissionDenied = 7,
  ResourceExhausted = 8,
  FailedPrecondition = 9,
  Aborted = 10,
  OutOfRange = 11,
  Unimplemented = 12,
  Internal = 13,
  Unavailable = 14,
  DataLoss = 15,
  Unauthenticated = 16,
}

/** Options of a {@link TalosError}. */
export interface TalosErrorOptions {
  readonly cause?: unknown;
  /** Machine-readable detail, e.g. the field path of a config error. */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** The one error base of Talos-TS: a code, a message and an optional cause. */
export class TalosError extends Error {
  readonly code: Code;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: Code, message: string, options: TalosErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TalosError';
    this.code = code;
    this.details = options.details ?? {};
  }

  /** Wraps anything thrown into a TalosError; aborts become Canceled, TalosErrors pass through. */
  static from(err: unknown, fallback: Code = Code.Unknown): TalosError {
    if (err instanceof TalosError) return err;
    if (err instanceof Error && err.name === 'AbortError') return new TalosError(Code.Canceled, err.message, { cause: err });
    if (err instanceof Error) return new TalosError(fallback, err.message, { cause: err });
    return new TalosError(fallback, String(err));
  }
}

/** True when err is a TalosError with the given code. */
export function hasCode(err: unknown, code: Code): err is TalosError {
  return err instanceof TalosError && err.code === code;
}
