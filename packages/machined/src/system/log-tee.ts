import type { Logger } from '@talos-ts/cosi';

/** A logger writing every record to both loggers (machined's own records also go to its service log). */
export function teeLogger(a: Logger, b: Logger): Logger {
  return {
    debug: (m, f) => (a.debug(m, f), b.debug(m, f)),
    info: (m, f) => (a.info(m, f), b.info(m, f)),
    warn: (m, f) => (a.warn(m, f), b.warn(m, f)),
    error: (m, f) => (a.error(m, f), b.error(m, f)),
    child: (f) => teeLogger(a.child(f), b.child(f)),
  };
}
