// Loading machine config text: guard rails first (size, nesting, aliases), then YAML parsing with
// positions kept, then the descriptor walk that type-checks every field.
import { Document, LineCounter, isMap, isScalar, parseAllDocuments } from 'yaml';
import { findDocumentKind, type ExtraDocument } from './documents.ts';
import { ConfigLoadError, quoteValue } from './errors.ts';
import { MachineConfig, attachSource } from './machine-config.ts';
import { checkConfigText, decodeConfigText, textPosition } from './text.ts';
import { v1alpha1Descriptor, type V1Alpha1Config } from './v1alpha1.ts';
import { WALK_LIMITS, WalkFailure, walk, walkState } from './walk.ts';

/** Largest config accepted, in bytes. */
export const MAX_CONFIG_SIZE_BYTES = 4 * 1024 * 1024;

function tooLarge(file: string, sizeBytes: number): ConfigLoadError {
  return new ConfigLoadError({ file }, '', `config is larger than the ${MAX_CONFIG_SIZE_BYTES}-byte limit (${sizeBytes} bytes)`);
}

/** The outcome of loading: a config or one error. */
export type LoadResult = { value: MachineConfig; error?: undefined } | { error: ConfigLoadError; value?: undefined };

/** Options of {@link loadConfig}. */
export interface LoadOptions {
  /** Name used in error messages. */
  readonly filename: string;
}

/** One checked document. */
type Checked = { kind: 'v1alpha1'; value: V1Alpha1Config; doc: Document } | { kind: 'extra'; value: ExtraDocument; doc: Document };

/**
 * Loads machine config YAML (one or more documents); never throws on bad input. Give bytes as they
 * were received or read: they are decoded strictly, so what loads is exactly what was sent.
 */
export function loadConfig(input: string | Uint8Array, options: LoadOptions): LoadResult {
  const file = options.filename;
  try {
    if (input instanceof Uint8Array) {
      if (input.byteLength > MAX_CONFIG_SIZE_BYTES) return { error: tooLarge(file, input.byteLength) };
      const decoded = decodeConfigText(input, { filename: file });
      if (decoded.error) return { error: decoded.error };
      return loadUnguarded(decoded.value, file);
    }
    return loadUnguarded(input, file);
  } catch (err) {
    // A last line of defence: parser recursion limits and the like become an error, never a throw.
    const reason = err instanceof RangeError ? 'document too deeply nested to parse' : `cannot load: ${err instanceof Error ? err.message : String(err)}`;
    return { error: new ConfigLoadError({ file }, '', reason) };
  }
}

function loadUnguarded(text: string, file: string): LoadResult {
  if (typeof text !== 'string') return { error: new ConfigLoadError({ file }, '', 'config is not text') };
  // Check length first: it bounds the byte size from below without scanning the whole string.
  if (text.length > MAX_CONFIG_SIZE_BYTES || Buffer.byteLength(text, 'utf8') > MAX_CONFIG_SIZE_BYTES) {
    return { error: tooLarge(file, Buffer.byteLength(text, 'utf8')) };
  }
  const bad = checkConfigText(text, { filename: file });
  if (bad) return { error: bad };
  const lc = new LineCounter();
  const locate = (offset: number | undefined): { file: string; line?: number; col?: number } => {
    if (offset === undefined) return { file };
    const p = lc.linePos(offset);
    return { file, line: p.line, col: p.col };
  };

  // The YAML parser recurses per nesting level; a cheap linear scan keeps absurd nesting away from
  // it. The scan over-counts a little (block scalars), so its bound is looser than the walker's.
  const nesting = estimateNesting(text);
  if (nesting.depth > PRESCAN_MAX_DEPTH) {
    return { error: new ConfigLoadError({ file, ...textPosition(text, nesting.offset) }, '', `nesting deeper than ${WALK_LIMITS.maxDepth} levels`) };
  }

  const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (!Array.isArray(docs)) return { error: new ConfigLoadError({ file }, '', 'empty config: no documents') };

  const checked: Checked[] = [];
  for (const doc of docs) {
    const err = doc.errors[0];
    if (err) {
      const reason = err.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? err.code;
      return { error: new ConfigLoadError(locate(err.pos[0]), '', `YAML syntax error: ${reason}`) };
    }
    if (doc.contents == null || (isScalar(doc.contents) && doc.contents.value === null)) continue;
    const r = checkDocument(doc, lc);
    if ('failure' in r) return { error: new ConfigLoadError(locate(r.failure.offset), r.failure.path, r.failure.reason) };
    checked.push(r);
  }
  return assemble(checked, file, (c) => locate(c.doc.contents?.range?.[0]));
}

/** Splits checked documents into the config object; exactly one v1alpha1 document is required. */
function assemble(
  checked: Checked[],
  file: string,
  locate: (c: Checked) => { file: string; line?: number; col?: number },
): LoadResult {
  if (checked.length === 0) return { error: new ConfigLoadError({ file }, '', 'empty config: no documents') };
  let v1: Checked | undefined;
  const extra: ExtraDocument[] = [];
  const seen = new Set<string>();
  for (const c of checked) {
    if (c.kind === 'v1alpha1') {
      if (v1) return { error: new ConfigLoadError(locate(c), '', 'more than one v1alpha1 document') };
      v1 = c;
    } else {
      const kindDef = findDocumentKind(c.value.kind);
      const name = kindDef?.nameField ? String(c.value[kindDef.nameField]) : '';
      const id = `${c.value.kind}/${name}`;
      if (seen.has(id)) return { error: new ConfigLoadError(locate(c), '', `duplicate ${c.value.kind} document${name ? ` named ${quoteValue(name)}` : ''}`) };
      seen.add(id);
      extra.push(c.value);
    }
  }
  if (!v1) return { error: new ConfigLoadError({ file }, '', 'no v1alpha1 document (a document with "version: v1alpha1")') };
  return { value: new MachineConfig(v1.value as V1Alpha1Config, extra, { filename: file }) };
}

function checkDocument(doc: Document, lc?: LineCounter): Checked | { failure: WalkFailure } {
  const st = walkState(doc);
  const root = doc.contents;
  let prefix = '';
  try {
    if (!isMap(root)) throw new WalkFailure(root, '', 'a config document must be a map');
    const kindNode = root.get('kind', true);
    if (kindNode === undefined) {
      const value = walk(st, root, v1alpha1Descriptor, '', 0) as V1Alpha1Config;
      attachSource(value, doc, lc);
      return { kind: 'v1alpha1', value, doc };
    }
    const kind = isScalar(kindNode) && typeof kindNode.value === 'string' ? kindNode.value : undefined;
    if (kind === undefined) throw new WalkFailure(kindNode, 'kind', 'expected a string');
    const def = findDocumentKind(kind);
    if (!def) throw new WalkFailure(kindNode, 'kind', `unknown document kind ${quoteValue(kind)}`);
    prefix = kind;
    const value = walk(st, root, def.descriptor, '', 0) as ExtraDocument;
    attachSource(value, doc, lc);
    return { kind: 'extra', value, doc };
  } catch (err) {
    if (!(err instanceof WalkFailure)) throw err;
    if (prefix === '') return { failure: err };
    // Paths inside other documents start with their kind, so a message says which document.
    return { failure: err.withPath(err.path === '' ? prefix : `${prefix}.${err.path}`) };
  }
}

/** Bound of the pre-parse nesting scan. */
const PRESCAN_MAX_DEPTH = 4 * WALK_LIMITS.maxDepth;

/**
 * Estimates nesting in one linear pass: flow brackets outside quotes, plus block levels (a stack of
 * indentations, like Python's tokenizer) and compact "- - -" indicators on a line.
 */
function estimateNesting(text: string): { depth: number; offset: number } {
  let flow = 0;
  let max = 0;
  let at = 0;
  let quote = '';
  const indents: number[] = [];
  let lineStart = true;
  for (let i = 0; i < text.length; i++) {
    if (lineStart) {
      lineStart = false;
      let j = i;
      while (text[j] === ' ') j++;
      const c0 = text[j];
      if (flow === 0 && quote === '' && c0 !== '\n' && c0 !== '#' && c0 !== undefined && c0 !== '\r') {
        const indent = j - i;
        while (indents.length > 0 && (indents[indents.length - 1] ?? 0) >= indent) indents.pop();
        indents.push(indent);
        let compact = 0;
        while ((text[j] === '-' || text[j] === '?') && (text[j + 1] === ' ' || text[j + 1] === '\t')) {
          compact++;
          if (indents.length + compact > PRESCAN_MAX_DEPTH) return { depth: indents.length + compact, offset: j };
          j += 2;
          while (text[j] === ' ') j++;
        }
        const depth = indents.length + compact;
        if (depth > max) {
          max = depth;
          at = j;
        }
        if (max > PRESCAN_MAX_DEPTH) return { depth: max, offset: at };
        i = j - 1;
        continue;
      }
    }
    const c = text[i];
    if (c === '\n') {
      lineStart = true;
      continue;
    }
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = '';
      continue;
    }
    if (c === '#' && (i === 0 || /\s/.test(text[i - 1] ?? ''))) {
      const nl = text.indexOf('\n', i);
      if (nl < 0) break;
      i = nl - 1;
    } else if ((c === '"' || c === "'") && flow > 0) quote = c;
    else if (c === '[' || c === '{') {
      flow++;
      if (indents.length + flow > max) {
        max = indents.length + flow;
        at = i;
      }
      if (max > PRESCAN_MAX_DEPTH) return { depth: max, offset: at };
    } else if ((c === ']' || c === '}') && flow > 0) flow--;
  }
  return { depth: max, offset: at };
}

/** Source label and objects of a config built in memory (generated or patched). */
export interface FromObjectsOptions {
  /** Name used in error messages, e.g. the patch that produced the objects. */
  readonly source: string;
}

/** Checks plain documents (v1alpha1 first or anywhere) and builds a config; errors carry the path. */
export function configFromObjects(objects: readonly unknown[], options: FromObjectsOptions): LoadResult {
  const checked: Checked[] = [];
  try {
    for (const o of objects) {
      const doc = new Document(o);
      const r = checkDocument(doc);
      if ('failure' in r) return { error: new ConfigLoadError({ file: options.source }, r.failure.path, r.failure.reason) };
      checked.push(r);
    }
  } catch (err) {
    return { error: new ConfigLoadError({ file: options.source }, '', `cannot build config: ${err instanceof Error ? err.message : String(err)}`) };
  }
  return assemble(checked, options.source, () => ({ file: options.source }));
}
