// A protobuf wire reader for integration suites that must not trust our own schemas: replies are
// read by field number only, so a test pins upstream's numbering rather than our generated code.

/** Field number → values (varints, or bytes for length-delimited and fixed fields). */
export type Fields = Map<number, (bigint | Buffer)[]>;

/** A protobuf wire reader that knows nothing of our schemas: field number → values (varints or bytes). */
export function fields(buf: Buffer): Fields {
  const out: Fields = new Map();
  let i = 0;
  const varint = (): bigint => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[i++] as number;
      v |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return v;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const key = varint();
    const no = Number(key >> 3n);
    const wire = Number(key & 7n);
    let value: bigint | Buffer;
    if (wire === 0) value = varint();
    else if (wire === 2) {
      const len = Number(varint());
      value = buf.subarray(i, i + len);
      i += len;
    } else if (wire === 1) {
      value = buf.subarray(i, i + 8);
      i += 8;
    } else if (wire === 5) {
      value = buf.subarray(i, i + 4);
      i += 4;
    } else throw new Error(`unexpected wire type ${wire}`);
    out.set(no, [...(out.get(no) ?? []), value]);
  }
  return out;
}
/** The first value of a string field (empty when absent). */
export const str = (f: Fields, no: number): string => Buffer.from((f.get(no)?.[0] as Buffer | undefined) ?? Buffer.alloc(0)).toString('utf8');
/** The first value of a varint field (0 when absent). */
export const num = (f: Fields, no: number): bigint => (f.get(no)?.[0] as bigint | undefined) ?? 0n;
/** Every value of a message field, each read as fields. */
export const subs = (f: Fields, no: number): Fields[] => (f.get(no) ?? []).map((b) => fields(b as Buffer));
/** A string field as protobuf encodes it (field `no`, wire type 2). */
export const encodeString = (no: number, s: string): Buffer => Buffer.concat([Buffer.from([(no << 3) | 2, Buffer.byteLength(s)]), Buffer.from(s)]);
