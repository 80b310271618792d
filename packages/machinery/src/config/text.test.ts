import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { loadConfig } from './load.ts';
import { parsePatch, resolvePatch } from './patch.ts';
import { fixture } from './testdata/fixtures.ts';
import { decodeConfigText, invalidUtf8Offset } from './text.ts';

const strict = new TextDecoder('utf-8', { fatal: true });

function validByDecoder(bytes: Uint8Array): boolean {
  try {
    strict.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

test('invalidUtf8Offset: agrees with a strict decoder, and the bytes before the offset are valid', () => {
  // Bytes biased towards the edges of UTF-8's ranges, where overlong forms and surrogates hide.
  const byte = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff));
  fc.assert(
    fc.property(fc.array(byte, { maxLength: 24 }), fc.string({ unit: 'binary', maxLength: 8 }), (raw, prefix) => {
      const bytes = Buffer.concat([Buffer.from(prefix), Buffer.from(raw)]);
      const at = invalidUtf8Offset(bytes);
      assert.equal(at === -1, validByDecoder(bytes));
      if (at >= 0) assert.ok(validByDecoder(bytes.subarray(0, at)));
    }),
    { numRuns: 500 },
  );
});

test('loadConfig: invalid UTF-8 bytes are refused with line, column and byte offset, never replaced', () => {
  // A comment line of its own after the first line: the bad bytes sit where nothing else checks them.
  const src = Buffer.from(fixture('worker.yaml'));
  const nl = src.indexOf('\n') + 1;
  const text = Buffer.concat([src.subarray(0, nl), Buffer.from('# \n'), src.subarray(nl)]);
  const at = nl + 2;
  for (const bad of [[0xff], [0xc3], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xf4, 0x90, 0x80, 0x80]]) {
    const bytes = Buffer.concat([text.subarray(0, at), Buffer.from(bad), text.subarray(at)]);
    const r = loadConfig(bytes, { filename: 'w.yaml' });
    const hex = (bad[0] as number).toString(16).toUpperCase();
    assert.match(r.error?.message ?? 'loaded', new RegExp(`^w\\.yaml:2:3: invalid UTF-8 \\(byte 0x${hex}\\) at byte offset ${at}$`));
  }
  // The same text without the bad byte loads, and so does valid non-ASCII in a comment.
  assert.equal(loadConfig(text, { filename: 'w.yaml' }).error, undefined);
  const withUmlaut = Buffer.concat([text.subarray(0, at), Buffer.from('Grüße ✓ 𝄞 '), text.subarray(at)]);
  assert.equal(loadConfig(withUmlaut, { filename: 'w.yaml' }).error, undefined);
});

test('loadConfig: NUL and other control characters are refused; escapes in double quotes load', () => {
  const base = fixture('worker.yaml');
  // [inserted text, the first character refused in it, how the error names it]
  for (const [ins, bad, what] of [
    ['\0', '\0', 'NUL byte'],
    ['\x07', '\x07', 'control character U\\+0007'],
    ['\x7f', '\x7f', 'control character U\\+007F'],
    ['\u0085 ok \x9b', '\x9b', 'control character U\\+009B'],
    ['\ud800', '\ud800', 'unpaired surrogate U\\+D800'],
    ['\uffff', '\uffff', 'control character U\\+FFFF'],
  ] as const) {
    const text = base.replace('    network: {}', `    network: {}\n    # ${ins}`);
    const at = Buffer.byteLength(text.slice(0, text.indexOf(bad)));
    const line = text.slice(0, text.indexOf('    # ')).split('\n').length;
    const r = loadConfig(text, { filename: 'w.yaml' });
    assert.match(r.error?.message ?? 'loaded', new RegExp(`^w\\.yaml:${line}:\\d+: ${what} at byte offset ${at} is not allowed in a config$`), JSON.stringify(ins));
  }
  const escaped = loadConfig(base.replace('    network: {}', '    network: {}\n    nodeLabels:\n        a: "x\\0y\\x07"'), { filename: 'w.yaml' });
  assert.equal(escaped.error, undefined, escaped.error?.message);
  assert.equal(escaped.value?.config.machine.nodeLabels?.['a'], 'x\0y\x07');
  const again = loadConfig(escaped.value?.toYaml() ?? '', { filename: 'saved.yaml' });
  assert.equal(again.value?.config.machine.nodeLabels?.['a'], 'x\0y\x07', 'saved text escapes them again');
});

test('patches: NUL and invalid UTF-8 in patch text and @file patches are refused', async () => {
  assert.match(parsePatch('machine:\n  network:\n    hostname: a\0b\n', { name: 'p.yaml' }).error?.message ?? '', /^p\.yaml:3:16: NUL byte at byte offset 35/);
  const r = await resolvePatch('@p.yaml', { readFile: () => Promise.resolve(Buffer.from([0x6d, 0x3a, 0x20, 0xff, 0x0a])) });
  assert.match(r.error?.message ?? '', /^p\.yaml:1:4: invalid UTF-8 \(byte 0xFF\) at byte offset 3$/);
});

test('decodeConfigText: a valid payload decodes to exactly its text', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 100 }), (s) => {
      const r = decodeConfigText(Buffer.from(s), { filename: 'f' });
      if (r.value !== undefined) assert.deepEqual(Buffer.from(r.value), Buffer.from(s));
      else assert.match(r.error.message, /is not allowed in a config$/);
    }),
    { numRuns: 300 },
  );
});
