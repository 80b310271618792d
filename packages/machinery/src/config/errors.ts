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

/** Characters of a user's value quoted in a message before it is cut. */
export const MAX_QUOTED_CHARS = 64;

/** Longest path, and longest reason, a rendered problem carries before it is cut. */
const MAX_RENDERED_PATH_CHARS = 256;
const MAX_RENDERED_REASON_CHARS = 1024;

/**
 * Cuts text to at most `maxChars` (never inside a surrogate pair) and says how long it was, e.g.
 * `abc…(10240 bytes)`. Messages travel in gRPC trailers: echoing a 100 KB value whole would make
 * the error itself undeliverable.
 */
export function clipText(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  let cut = maxChars;
  const last = text.charCodeAt(cut - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut--;
  return `${text.slice(0, cut)}…(${Buffer.byteLength(text, 'utf8')} bytes)`;
}

/** A user's string value for a message: JSON-quoted, and cut after {@link MAX_QUOTED_CHARS} characters. */
export function quoteValue(value: string): string {
  if (value.length <= MAX_QUOTED_CHARS) return JSON.stringify(value);
  // Cut before quoting so the marker stands outside the quotes: the quoted part is verbatim input.
  const clipped = clipText(value, MAX_QUOTED_CHARS);
  const marker = clipped.lastIndexOf('…(');
  return `${JSON.stringify(clipped.slice(0, marker))}${clipped.slice(marker)}`;
}

/**
 * Any user value for a message, cut like {@link quoteValue}. Never calls the value's own methods:
 * plain data from YAML may hold a key named `toString`, which `String(v)` would try to call.
 */
export function quoteAny(value: unknown): string {
  if (typeof value === 'string') return quoteValue(value);
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    text = undefined;
  }
  return clipText(text ?? typeof value, MAX_QUOTED_CHARS);
}

/** Renders a problem as one line; parts that are unknown are left out, overlong ones are cut. */
export function renderProblem(loc: ConfigLocation, path: string, reason: string): string {
  let where = loc.file;
  if (loc.line !== undefined) where += `:${loc.line}:${loc.col ?? 1}`;
  const flat = clipText(reason.replace(/\s*\n\s*/g, ' ').trim(), MAX_RENDERED_REASON_CHARS);
  return path === '' ? `${where}: ${flat}` : `${where}: ${clipText(path, MAX_RENDERED_PATH_CHARS)}: ${flat}`;
}
