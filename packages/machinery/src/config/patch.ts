// Config patches: strategic merge documents or RFC 6902 operations, given inline or as @file.
// Patches apply to a copy and the result is type-checked after each one, so a bad patch names
// itself and nothing is half-applied.
import { LineCounter, isSeq, parseAllDocuments } from 'yaml';
import { findDocumentKind, type ExtraDocument } from './documents.ts';
import { ConfigLoadError, quoteAny, quoteValue } from './errors.ts';
import { MAX_CONFIG_SIZE_BYTES, configFromObjects, type LoadResult } from './load.ts';
import { attachSource, sourceOf, type MachineConfig } from './machine-config.ts';
import { checkConfigText, decodeConfigText } from './text.ts';
import { MergeError, PATCH_DIRECTIVE, isDeleteDirective, mergeValue } from './patch-merge.ts';
import { JsonPatchError, applyJsonPatch, parseJsonPatch, type JsonPatchOperation } from './patch-json.ts';
import { v1alpha1Descriptor } from './v1alpha1.ts';
import { WalkFailure, plain, walkState } from './walk.ts';

/** A parsed patch: strategic merge documents or JSON patch operations, with a name for messages. */
export type ConfigPatch =
  | { readonly type: 'strategic'; readonly name: string; readonly documents: readonly Record<string, unknown>[] }
  | { readonly type: 'json6902'; readonly name: string; readonly operations: readonly JsonPatchOperation[] };

/** A parse result of a patch. */
export type PatchParseResult = { value: ConfigPatch; error?: undefined } | { error: ConfigLoadError; value?: undefined };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Parses patch text (YAML or JSON). A single list document is a JSON patch; maps are strategic merge. */
export function parsePatch(text: string, options: { name: string }): PatchParseResult {
  const file = options.name;
  try {
    if (text.length > MAX_CONFIG_SIZE_BYTES) return { error: new ConfigLoadError({ file }, '', `patch is larger than the ${MAX_CONFIG_SIZE_BYTES}-byte limit`) };
    const bad = checkConfigText(text, { filename: file });
    if (bad) return { error: bad };
    const lc = new LineCounter();
    const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
    if (!Array.isArray(docs)) return { error: new ConfigLoadError({ file }, '', 'empty patch') };
    const values: unknown[] = [];
    let listDoc = false;
    for (const doc of docs) {
      const err = doc.errors[0];
      if (err) {
        const p = lc.linePos(err.pos[0]);
        const reason = err.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? err.code;
        return { error: new ConfigLoadError({ file, line: p.line, col: p.col }, '', `YAML syntax error: ${reason}`) };
      }
      if (doc.contents == null) continue;
      if (isSeq(doc.contents)) listDoc = true;
      try {
        values.push(plain(walkState(doc), doc.contents, '', 0));
      } catch (e) {
        if (!(e instanceof WalkFailure)) throw e;
        const p = e.offset === undefined ? undefined : lc.linePos(e.offset);
        return { error: new ConfigLoadError(p ? { file, line: p.line, col: p.col } : { file }, e.path, e.reason) };
      }
    }
    if (values.length === 0) return { error: new ConfigLoadError({ file }, '', 'empty patch') };
    if (listDoc) {
      if (values.length !== 1) return { error: new ConfigLoadError({ file }, '', 'a JSON patch must be a single list of operations') };
      const ops = parseJsonPatch(values[0]);
      if ('error' in ops) return { error: new ConfigLoadError({ file }, jsonPatchPath(ops.error), ops.error.reason) };
      return { value: { type: 'json6902', name: file, operations: ops.value } };
    }
    const documents: Record<string, unknown>[] = [];
    for (const v of values) {
      if (!isPlainObject(v)) return { error: new ConfigLoadError({ file }, '', 'a strategic merge patch document must be a map') };
      documents.push(v);
    }
    return { value: { type: 'strategic', name: file, documents } };
  } catch (err) {
    return { error: new ConfigLoadError({ file }, '', `cannot parse patch: ${err instanceof Error ? err.message : String(err)}`) };
  }
}

function jsonPatchPath(e: JsonPatchError): string {
  return `[${e.index}]${e.pointer ? ` ${e.pointer}` : ''}`;
}

/**
 * How to read `@file` patches; the caller decides what a file is (machinery never touches the host).
 * Bytes are decoded strictly (invalid UTF-8 is refused, not replaced).
 */
export interface PatchSourceOptions {
  readonly readFile: (path: string) => Promise<string | Uint8Array>;
}

/** Turns a `--patch` argument (inline text or `@file`) into a parsed patch. */
export async function resolvePatch(spec: string, options: PatchSourceOptions): Promise<PatchParseResult> {
  if (spec.startsWith('@')) {
    const path = spec.slice(1);
    let raw: string | Uint8Array;
    try {
      raw = await options.readFile(path);
    } catch (err) {
      return { error: new ConfigLoadError({ file: spec }, '', `cannot read patch: ${err instanceof Error ? err.message : String(err)}`) };
    }
    if (typeof raw === 'string') return parsePatch(raw, { name: path });
    if (raw.byteLength > MAX_CONFIG_SIZE_BYTES) return { error: new ConfigLoadError({ file: path }, '', `patch is larger than the ${MAX_CONFIG_SIZE_BYTES}-byte limit`) };
    const text = decodeConfigText(raw, { filename: path });
    return text.error ? { error: text.error } : parsePatch(text.value, { name: path });
  }
  return parsePatch(spec, { name: 'inline patch' });
}

function docId(d: Record<string, unknown>): string {
  // Names come from patch documents not yet checked: no String(), which would call a user's `toString` key.
  const text = (v: unknown): string => (typeof v === 'string' ? v : (JSON.stringify(v) ?? ''));
  const kind = text(d['kind'] ?? '');
  const nameField = findDocumentKind(kind)?.nameField;
  return `${kind}/${nameField ? text(d[nameField] ?? '') : ''}`;
}

/** Applies patches in order to a copy of `cfg`; on any error the original is untouched and the error names the patch. */
export function applyPatches(cfg: MachineConfig, patches: readonly ConfigPatch[]): LoadResult {
  let objects = cfg.toObjects() as Record<string, unknown>[];
  let result: LoadResult | undefined;
  for (const patch of patches) {
    const file = patch.name;
    try {
      objects = patch.type === 'json6902' ? applyJson(objects, patch.operations) : applyStrategic(objects, patch.documents);
    } catch (err) {
      if (err instanceof MergeError) return { error: new ConfigLoadError({ file }, err.path, err.reason) };
      if (err instanceof JsonPatchError) return { error: new ConfigLoadError({ file }, jsonPatchPath(err), err.reason) };
      throw err;
    }
    result = configFromObjects(objects, { source: file });
    if (result.error) return result;
  }
  if (!result) return { value: cfg.clone() };
  const out = result.value;
  if (!out) return result;
  // Carry the original YAML documents over so that user comments survive patching.
  const v1src = sourceOf(cfg.config);
  if (v1src) attachSource(out.config, v1src.clone());
  const originals = new Map(cfg.documents.map((d) => [docId(d), d] as const));
  for (const d of out.documents) {
    const orig = originals.get(docId(d));
    const src = orig ? sourceOf(orig) : undefined;
    if (src) attachSource(d, src.clone());
  }
  return { value: out };
}

function applyJson(objects: Record<string, unknown>[], ops: readonly JsonPatchOperation[]): Record<string, unknown>[] {
  // Like upstream, JSON patches address the v1alpha1 document only.
  const patched = applyJsonPatch(objects[0], ops);
  if (!isPlainObject(patched)) throw new JsonPatchError(ops.length - 1, '', 'the patched document is no longer a map');
  return [patched, ...objects.slice(1)];
}

function applyStrategic(objects: Record<string, unknown>[], documents: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  const out = [...objects];
  documents.forEach((pdoc, i) => {
    const base = documents.length > 1 ? `document[${i}]` : '';
    const kind = pdoc['kind'];
    if (kind === undefined) {
      const version = pdoc['version'];
      if (version !== undefined && version !== 'v1alpha1') throw new MergeError(`${base ? `${base}.` : ''}version`, `unsupported version ${quoteAny(version)}`);
      if (Object.hasOwn(pdoc, PATCH_DIRECTIVE)) throw new MergeError(base, 'the v1alpha1 document cannot be deleted');
      out[0] = mergeValue(out[0], pdoc, v1alpha1Descriptor, base) as Record<string, unknown>;
      return;
    }
    if (typeof kind !== 'string') throw new MergeError(`${base ? `${base}.` : ''}kind`, 'expected a string');
    const def = findDocumentKind(kind);
    if (!def) throw new MergeError(`${base ? `${base}.` : ''}kind`, `unknown document kind ${quoteValue(kind)}`);
    const id = docId(pdoc);
    const at = out.findIndex((d, j) => j > 0 && docId(d) === id);
    if (isDeleteDirective(pdoc, base)) {
      if (at > 0) out.splice(at, 1);
      return;
    }
    if (at > 0) out[at] = mergeValue(out[at], pdoc, def.descriptor, kind) as Record<string, unknown>;
    else out.push(mergeValue({}, pdoc, def.descriptor, kind) as ExtraDocument);
  });
  return out;
}
