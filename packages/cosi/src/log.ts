/** Severity of a log record, lowest first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const levelRank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Structured fields of a log record. Errors are rendered as their message. */
export type LogFields = Readonly<Record<string, unknown>>;

/** A structured logger. Every service and controller gets its own child with its name. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger whose records carry these fields too. */
  child(fields: LogFields): Logger;
}

/** One rendered record, as handed to a sink. */
export interface LogRecord {
  readonly time: string;
  readonly level: LogLevel;
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  readonly level?: LogLevel;
  /** Receives each record; defaults to one JSON line on stderr. */
  readonly sink?: (record: LogRecord) => void;
  readonly fields?: LogFields;
  readonly now?: () => Date;
}

function render(value: unknown): unknown {
  if (value instanceof Error) return value.message;
  return value;
}

/** Creates a logger that writes JSON lines (or hands records to a sink). */
export function createLogger(options: LoggerOptions = {}): Logger {
  const min = levelRank[options.level ?? 'info'];
  const sink = options.sink ?? ((r: LogRecord) => void process.stderr.write(JSON.stringify(r) + '\n'));
  const now = options.now ?? (() => new Date());
  const make = (base: LogFields): Logger => {
    const emit = (level: LogLevel, msg: string, fields?: LogFields): void => {
      if (levelRank[level] < min) return;
      const record: Record<string, unknown> = { time: now().toISOString(), level, msg };
      for (const [k, v] of Object.entries(base)) record[k] = render(v);
      if (fields) for (const [k, v] of Object.entries(fields)) record[k] = render(v);
      sink(record as LogRecord);
    };
    return {
      debug: (m, f) => emit('debug', m, f),
      info: (m, f) => emit('info', m, f),
      warn: (m, f) => emit('warn', m, f),
      error: (m, f) => emit('error', m, f),
      child: (f) => make({ ...base, ...f }),
    };
  };
  return make(options.fields ?? {});
}

/** A logger that drops everything; the default where no logger is given. */
export const nullLogger: Logger = createLogger({ level: 'error', sink: () => {} });
