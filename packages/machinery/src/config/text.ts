// Config bytes to text, strictly. A lenient decode turns invalid UTF-8 into U+FFFD, so the config a
// node stores would differ from the one sent; YAML also forbids most control characters (NUL
// included) in a stream. Upstream's YAML reader refuses both, and so do we, naming the byte offset.
import { isUtf8 } from 'node:buffer';
import { ConfigLoadError } from './errors.ts';

/** The outcome of decoding: the text, or an error naming the first offending byte. */
export type TextResult = { value: string; error?: undefined } | { error: ConfigLoadError; value?: undefined };

/**
 * Offset of the first byte that does not start or continue a well-formed UTF-8 sequence (RFC 3629:
 * no overlong forms, no surrogates, nothing above U+10FFFF), or -1. Hand-written because neither
 * TextDecoder nor buffer.isUtf8 says where the input went wrong; it only runs after isUtf8 said no.
 */
export function invalidUtf8Offset(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] as number;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0; // overlong
      if (b === 0xed) hi = 0x9f; // surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90; // overlong
      if (b === 0xf4) hi = 0x8f; // above U+10FFFF
    } else return i;
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      // The first continuation byte has the narrowed range; the rest are any 10xxxxxx.
      if (c === undefined || c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return i;
    }
    i += need + 1;
  }
  return -1;
}

// Characters YAML 1.2 does not allow in a stream (outside c-printable): C0 controls but tab, LF and
// CR; DEL; C1 controls but NEL; lone surrogates; U+FFFE and U+FFFF. Escapes inside double-quoted
// scalars (e.g. "\0") remain possible: they are printable text in the stream.
const nonPrintable = /[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u;

/** 1-based line and column of a string offset (no LineCounter: the text may not parse). */
export function textPosition(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, col: offset - start + 1 };
}

function codePointName(cp: number): string {
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Refuses text holding characters YAML forbids (NUL and other controls), naming byte offset, line and column. */
export function checkConfigText(text: string, options: { filename: string }): ConfigLoadError | undefined {
  const m = nonPrintable.exec(text);
  if (m === null) return undefined;
  const at = m.index;
  const cp = text.codePointAt(at) ?? 0;
  const byteOffset = Buffer.byteLength(text.slice(0, at), 'utf8');
  const what = cp === 0 ? 'NUL byte' : cp >= 0xd800 && cp <= 0xdfff ? `unpaired surrogate ${codePointName(cp)}` : `control character ${codePointName(cp)}`;
  return new ConfigLoadError({ file: options.filename, ...textPosition(text, at) }, '', `${what} at byte offset ${byteOffset} is not allowed in a config`);
}

/** Decodes config bytes as strict UTF-8 and checks them as {@link checkConfigText} does; never lossy. */
export function decodeConfigText(bytes: Uint8Array, options: { filename: string }): TextResult {
  if (!isUtf8(bytes)) {
    // isUtf8 and the scan agree; should they not, the start of the input is blamed rather than nothing.
    const offset = Math.max(invalidUtf8Offset(bytes), 0);
    // Line and column of the bad byte: count the lines before it, the column in bytes of that line.
    const before = bytes.subarray(0, Math.max(offset, 0));
    const lastNl = before.lastIndexOf(0x0a);
    let line = 1;
    for (const b of before) if (b === 0x0a) line++;
    // The column counts characters, as the YAML parser's positions do; the line up to the bad byte is valid.
    const col = Buffer.from(bytes.subarray(lastNl + 1, Math.max(offset, 0))).toString('utf8').length + 1;
    const byte = bytes[offset]?.toString(16).toUpperCase().padStart(2, '0') ?? '';
    return { error: new ConfigLoadError({ file: options.filename, line, col }, '', `invalid UTF-8 (byte 0x${byte}) at byte offset ${offset}`) };
  }
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  const bad = checkConfigText(text, options);
  return bad ? { error: bad } : { value: text };
}
