import { run } from './run.ts';

/**
 * Node's release builds embed ICU's full data package (~33 MB, ~8 MB after xz: the largest single
 * part of the root). A node needs English only, so the image's Node gets the package rewritten in
 * place with the locale data of every other language (and the transliterators, which Node does not
 * expose) left out, as Node's own `small-icu` builds do. Other locales then fall back to the root
 * locale instead of failing. The package keeps its address and length; the freed tail is zeros,
 * which the SquashFS compressor all but removes.
 */

/** Locales whose data stays (the root locale is every lookup's last fallback). */
const KEPT_LOCALES = new Set(['root', 'en', 'en_US', 'en_US_POSIX']);
/** `.res` items whose names look like locale ids but are indexes every lookup needs. */
const INDEX_ITEMS = new Set(['res_index', 'pool']);
const LOCALE_ID = /^[a-z]{2,3}(_[A-Za-z0-9]+)*$/;

/** Whether an item of the package (`icudt78l/coll/de.res`) stays in the trimmed data. */
export function keepIcuItem(name: string): boolean {
  const rel = name.slice(name.indexOf('/') + 1);
  const slash = rel.lastIndexOf('/');
  const tree = slash < 0 ? '' : rel.slice(0, slash);
  const base = rel.slice(slash + 1);
  if (tree === 'translit') return false;
  if (!base.endsWith('.res')) return true;
  const stem = base.slice(0, -'.res'.length);
  return !LOCALE_ID.test(stem) || KEPT_LOCALES.has(stem) || INDEX_ITEMS.has(stem);
}

/** An ICU common-data package (`CmnD`): its header length and table of contents. */
interface IcuPackage {
  readonly headerSize: number;
  readonly items: ReadonlyArray<{ readonly name: Buffer; readonly start: number; readonly end: number }>;
}

function parsePackage(pkg: Buffer): IcuPackage {
  const headerSize = pkg.readUInt16LE(0);
  if (pkg[2] !== 0xda || pkg[3] !== 0x27 || pkg.toString('latin1', 12, 16) !== 'CmnD' || pkg[8] !== 0) {
    throw new Error('not a little-endian ICU common data package');
  }
  const count = pkg.readUInt32LE(headerSize);
  const entries: Array<{ name: Buffer; offset: number }> = [];
  for (let i = 0; i < count; i++) {
    const nameOffset = headerSize + pkg.readUInt32LE(headerSize + 4 + 8 * i);
    entries.push({ name: pkg.subarray(nameOffset, pkg.indexOf(0, nameOffset)), offset: headerSize + pkg.readUInt32LE(headerSize + 8 + 8 * i) });
  }
  // Items are stored in table order; each runs to the next one (the last to the package's end).
  const items = entries.map((e, i) => ({ name: e.name, start: e.offset, end: entries[i + 1]?.offset ?? pkg.length }));
  if (items.some((it) => it.end < it.start)) throw new Error('ICU package items are not in table order');
  return { headerSize, items };
}

/** The names of a package's items, in table order. */
export function icuItemNames(pkg: Buffer): string[] {
  return parsePackage(pkg).items.map((it) => it.name.toString('latin1'));
}

/**
 * The package rewritten with only the items `keep` accepts, zero-padded to the original length.
 * The table stays sorted by name (ICU binary-searches it) and items stay 16-byte aligned.
 */
export function trimIcuPackage(pkg: Buffer, keep: (name: string) => boolean = keepIcuItem): { data: Buffer; kept: number; usedBytes: number } {
  const { headerSize, items } = parsePackage(pkg);
  const kept = items.filter((it) => keep(it.name.toString('latin1')));
  const out = Buffer.alloc(pkg.length);
  pkg.copy(out, 0, 0, headerSize);
  const toc = headerSize;
  out.writeUInt32LE(kept.length, toc);
  let names = 4 + 8 * kept.length;
  const nameOffsets = kept.map((it) => {
    const at = names;
    it.name.copy(out, toc + at);
    names += it.name.length + 1;
    return at;
  });
  let pos = Math.ceil(names / 16) * 16;
  kept.forEach((it, i) => {
    out.writeUInt32LE(nameOffsets[i] as number, toc + 4 + 8 * i);
    out.writeUInt32LE(pos, toc + 8 + 8 * i);
    pkg.copy(out, toc + pos, it.start, it.end);
    pos += Math.ceil((it.end - it.start) / 16) * 16;
  });
  if (toc + pos > pkg.length) throw new Error('trimmed ICU package does not fit');
  return { data: out, kept: kept.length, usedBytes: toc + pos };
}

/** Where a program's embedded ICU package is (file offset and length), or undefined when it has none. */
export async function findIcuPackage(program: Buffer, symbolsOf: string): Promise<{ offset: number; sizeBytes: number } | undefined> {
  // The length comes from the symbol table of the unstripped program; the offset from the
  // package's own header, which stripping does not move relative to its contents.
  const nm = await run('nm', ['-S', '--defined-only', symbolsOf], { maxBufferBytes: 512 * 1024 * 1024 }).catch(() => '');
  const sym = /^[0-9a-f]+ ([0-9a-f]+) [Rr] icudt\d+_dat$/m.exec(nm);
  if (!sym?.[1]) return undefined;
  const magic = Buffer.from([0xda, 0x27, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x43, 0x6d, 0x6e, 0x44]);
  const at = program.indexOf(magic);
  if (at < 2 || program.indexOf(magic, at + 1) >= 0) return undefined;
  return { offset: at - 2, sizeBytes: Number.parseInt(sym[1], 16) };
}
