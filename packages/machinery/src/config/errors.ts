import { Code, TalosError } from '@talos-ts/cosi';

/** Where in a file a config problem sits; line and col are 1-based. */
export interface ConfigLocation {
  readonly file: string;
  readonly line?: number;
  readonly col?: number;
}

/** A config that could not be loaded; renders as one `<file>:<line>:<col>: <path>: <reason>` line. */
export class ConfigLoadError extends TalosError {
  readonly file: string;
  readonly line: number | undefined;
  readonly col: number | undefined;
  readonly path: string;
  readonly reason: string;

  constructor(loc: ConfigLocation, path: string, reason: string) {
    super(Code.InvalidArgument, renderProblem(loc, path, reason), { details: { path } });
    this.name = 'ConfigLoadError';
    this.file = loc.file;
    this.line = loc.line;
    this.col = loc.col;
    this.path = path;
    this.reason = reason;
  }
}

/** Renders a problem as one line; parts that are unknown are left out. */
export function renderProblem(loc: ConfigLocation, path: string, reason: string): string {
  let where = loc.file;
  if (loc.line !== undefined) where += `:${loc.line}:${loc.col ?? 1}`;
  const flat = reason.replace(/\s*\n\s*/g, ' ').trim();
  return path === '' ? `${where}: ${flat}` : `${where}: ${path}: ${flat}`;
}
