// Request messages for every RPC of the services we serve: random but well-shaped messages built
// from the generated descriptors (protobuf-es reflection), and mutated encodings of them that a
// decoder has to reject or survive.
import { ScalarType, create, toBinary, type DescField, type DescMessage, type DescMethod, type DescService } from '@bufbuild/protobuf';
import { cosiStatePb, inspectPb, machinePb, securityPb, timePb } from '@talos-ts/machinery';
import type { Rng } from './rng.ts';

/** A service and the daemon that answers it over the wire. */
export interface ServedService {
  readonly service: DescService;
  /** apid proxies it to machined (mTLS :50000); trustd answers it itself (:50001). */
  readonly via: 'apid' | 'trustd';
}

/** Every gRPC service a node serves (machined's behind apid, trustd's own). */
export const SERVED_SERVICES: readonly ServedService[] = [
  { service: machinePb.MachineService, via: 'apid' },
  { service: cosiStatePb.State, via: 'apid' },
  { service: inspectPb.InspectService, via: 'apid' },
  { service: timePb.TimeService, via: 'apid' },
  { service: securityPb.SecurityService, via: 'trustd' },
];

/** Every method of the served services, with its gRPC path. */
export function servedMethods(): { method: DescMethod; path: string; via: ServedService['via'] }[] {
  return SERVED_SERVICES.flatMap((s) => s.service.methods.map((m) => ({ method: m, path: `/${s.service.typeName}/${m.name}`, via: s.via })));
}

/**
 * Methods that change or stop the node. The fuzzer calls them with a role that may not run them
 * (os:reader), so their decoders and authorization are exercised without wiping the node under test.
 */
export function isDestructive(method: DescMethod): boolean {
  return /^(Reset|Reboot|Shutdown|Upgrade|Rollback|ApplyConfiguration|Bootstrap|EtcdRecover|EtcdRemoveMember|EtcdLeaveCluster|EtcdForfeitLeadership|ServiceStart|ServiceStop|ServiceRestart|Create|Update|Destroy|Teardown|AddFinalizer|RemoveFinalizer|ImagePull|ImageRemove|PacketCapture|MetaWrite|MetaDelete)$/.test(method.name);
}

/**
 * Strings that have hurt parsers and servers before: regexps with catastrophic backtracking
 * (JS RegExp is a backtracking engine), paths, hosts, control characters, long runs.
 */
export const HOSTILE_STRINGS: readonly string[] = [
  '',
  '^.{8}([A-Za-z.]+)+!$',
  '([A-Za-z.]+)+!$',
  '(a+)+$',
  '(.*a){20}',
  '((((((((((x*)*)*)*)*)*)*)*)*)*)*y',
  '[',
  '(?<',
  '\\',
  '*',
  '.*',
  '../../../../etc/shadow',
  '/dev/zero',
  '/proc/self/mem',
  '127.0.0.1:22',
  '127.0.0.1:1',
  'no-such-host.invalid',
  '[::1]:50000',
  'os:admin',
  '\u0000',
  '%00%ff',
  '\ud800',
  'é'.repeat(3),
  '\r\nx-injected: 1',
  'a'.repeat(10_000),
];

const MAX_DEPTH = 4;

function randomScalar(t: ScalarType, rng: Rng, fieldName: string): unknown {
  switch (t) {
    case ScalarType.STRING:
      if (rng.chance(0.6)) return rng.pick(HOSTILE_STRINGS);
      return rng.bytes(rng.int(24)).toString('latin1');
    case ScalarType.BYTES:
      return rng.chance(0.1) ? new Uint8Array(rng.chance(0.1) ? 1_048_576 : rng.pick([1024, 65_536])) : new Uint8Array(rng.bytes(rng.int(64)));
    case ScalarType.BOOL:
      return rng.chance(0.5);
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return rng.pick([0, -1, 1e308, Number.NaN, Number.POSITIVE_INFINITY, -0, rng.next()]);
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return rng.pick([0n, -1n, 9223372036854775807n, -9223372036854775808n, BigInt(rng.int(1000))]);
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return rng.pick([0n, 1n, 18446744073709551615n, BigInt(rng.int(1000))]);
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      // Counts and sizes (tail lines, limits) at their extremes.
      return rng.pick([0, 1, 0xffffffff, rng.int(100)]);
    default:
      void fieldName;
      return rng.pick([0, -1, 1, 2147483647, -2147483648, rng.int(100)]);
  }
}

// A small value of a scalar type (items of huge repeated fields).
function defaultOf(t: ScalarType): unknown {
  switch (t) {
    case ScalarType.STRING:
      return 'x';
    case ScalarType.BYTES:
      return new Uint8Array(1);
    case ScalarType.BOOL:
      return true;
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return 1n;
    default:
      return 1;
  }
}

function randomEnum(field: { enum: { values: readonly { number: number }[] } }, rng: Rng): number {
  // Mostly a defined value, sometimes one the enum does not define (open enums keep them).
  return rng.chance(0.8) ? rng.pick(field.enum.values).number : rng.pick([-1, 99, 2147483647]);
}

function randomValue(field: DescField, rng: Rng, depth: number): unknown {
  switch (field.fieldKind) {
    case 'scalar':
      return randomScalar(field.scalar, rng, field.name);
    case 'enum':
      return randomEnum(field, rng);
    case 'message':
      return randomInit(field.message, rng, depth + 1);
    case 'list': {
      // Mostly short lists; sometimes a long one (huge repeated fields), only at the top level and
      // with empty items, so one request stays bounded (nested long lists multiply).
      const huge = depth === 0 && rng.chance(0.05);
      const n = huge ? rng.pick([1_000, 20_000]) : rng.int(4);
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) {
        if (field.listKind === 'scalar') out.push(huge ? defaultOf(field.scalar) : randomScalar(field.scalar, rng, field.name));
        else if (field.listKind === 'enum') out.push(randomEnum(field, rng));
        else out.push(huge || depth >= MAX_DEPTH ? {} : randomInit(field.message, rng, depth + 1));
      }
      return out;
    }
    case 'map': {
      const out: Record<string, unknown> = {};
      const n = rng.int(4);
      for (let i = 0; i < n; i++) {
        const k = field.mapKey === ScalarType.STRING ? rng.pick(HOSTILE_STRINGS).slice(0, 64) : String(rng.int(100));
        if (field.mapKind === 'scalar') out[k] = randomScalar(field.scalar, rng, field.name);
        else if (field.mapKind === 'enum') out[k] = randomEnum(field, rng);
        else out[k] = depth >= MAX_DEPTH ? {} : randomInit(field.message, rng, depth + 1);
      }
      return out;
    }
  }
}

/** A random init object of a message (each field set with probability ~½, one case per oneof). */
export function randomInit(schema: DescMessage, rng: Rng, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (depth > MAX_DEPTH) return out;
  for (const member of schema.members) {
    if (member.kind === 'oneof') {
      if (rng.chance(0.5)) continue;
      const f = rng.pick(member.fields);
      out[member.localName] = { case: f.localName, value: randomValue(f, rng, depth) };
    } else if (rng.chance(0.5)) {
      out[member.localName] = randomValue(member, rng, depth);
    }
  }
  return out;
}

/** A random well-shaped request of a method, encoded. */
export function randomRequest(method: DescMethod, rng: Rng): Uint8Array {
  const init = randomInit(method.input, rng);
  try {
    return toBinary(method.input, create(method.input, init as never));
  } catch {
    // Some draws do not encode (e.g. NaN where the type forbids it): fall back to the empty message.
    return new Uint8Array(0);
  }
}

/** The ways an encoding is broken by {@link mutateEncoding}. */
export const ENCODING_MUTATIONS = ['random-fields', 'truncated-varint', 'overlong-length', 'bad-wire-type', 'bit-flip', 'truncate', 'huge-repeated', 'deep-groups', 'random-bytes'] as const;

/** One way an encoding is broken. */
export type EncodingMutation = (typeof ENCODING_MUTATIONS)[number];

function varint(n: number | bigint): number[] {
  let v = BigInt(n);
  if (v < 0n) v &= (1n << 64n) - 1n;
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
}

function tag(field: number, wire: number): number[] {
  return varint((BigInt(field) << 3n) | BigInt(wire));
}

/** A mutated encoding of a valid message: the decoder must reject it cleanly or decode something. */
export function mutateEncoding(valid: Uint8Array, kind: EncodingMutation, rng: Rng): Buffer {
  const b = Buffer.from(valid);
  switch (kind) {
    case 'random-fields': {
      const parts: number[] = [];
      for (let i = rng.range(1, 6); i > 0; i--) {
        const field = rng.pick([1, 2, 3, 4, 5, 15, 16, 1000, 536_870_911, rng.range(1, 50)]);
        const wire = rng.pick([0, 1, 2, 5]);
        parts.push(...tag(field, wire));
        if (wire === 0) parts.push(...varint(rng.pick([0, 1, 2 ** 32, -1])));
        else if (wire === 1) parts.push(...rng.bytes(8));
        else if (wire === 5) parts.push(...rng.bytes(4));
        else {
          const len = rng.int(20);
          parts.push(...varint(len), ...rng.bytes(len));
        }
      }
      return Buffer.concat([b, Buffer.from(parts)]);
    }
    case 'truncated-varint':
      return Buffer.concat([b, Buffer.from([...tag(rng.range(1, 20), 0), 0xff, 0xff, 0xff])]);
    case 'overlong-length':
      // A length-delimited field claiming far more bytes than follow (up to 2^32-1).
      return Buffer.concat([b, Buffer.from([...tag(rng.range(1, 20), 2), ...varint(rng.pick([100, 2 ** 31, 2 ** 32 - 1])), 1, 2, 3])]);
    case 'bad-wire-type':
      // Wire types 6 and 7 do not exist; 3/4 are groups, long deprecated.
      return Buffer.concat([b, Buffer.from([...tag(rng.range(1, 20), rng.pick([3, 4, 6, 7])), 0])]);
    case 'bit-flip': {
      if (b.length === 0) return Buffer.from(rng.bytes(8));
      for (let i = rng.range(1, 4); i > 0; i--) {
        const at = rng.int(b.length);
        b[at] = (b[at] ?? 0) ^ (1 << rng.int(8));
      }
      return b;
    }
    case 'truncate':
      return b.subarray(0, b.length === 0 ? 0 : rng.int(b.length));
    case 'huge-repeated': {
      // The same small field repeated many times (one repeated field with a huge count).
      const one = Buffer.from([...tag(rng.range(1, 8), 0), 1]);
      return Buffer.concat([b, Buffer.alloc(one.length * rng.pick([10_000, 200_000]), one)]);
    }
    case 'deep-groups': {
      // Nested start-group tags: a recursive decoder must bound its depth.
      const depth = rng.pick([100, 10_000]);
      return Buffer.concat([b, Buffer.alloc(depth, Buffer.from(tag(1, 3)))]);
    }
    case 'random-bytes':
      return rng.bytes(rng.int(256));
  }
}
