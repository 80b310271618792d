export { Code, TalosError, hasCode } from './errors.ts';
export type { TalosErrorOptions } from './errors.ts';
export { createLogger, nullLogger } from './log.ts';
export type { Logger, LogLevel, LogFields, LogRecord, LoggerOptions } from './log.ts';
