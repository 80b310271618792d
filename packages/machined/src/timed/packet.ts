/**
 * NTP client-mode packets (RFC 5905, the 48-byte header without extensions) and the checks a client
 * must make on a reply before trusting it: mode, version, origin timestamp, kiss-o'-death, stratum,
 * leap alarm and root distance.
 */

/** Seconds from the NTP era (1900-01-01) to the Unix epoch. */
const NTP_UNIX_OFFSET_S = 2_208_988_800;
const TWO_32 = 0x1_0000_0000;
/** RFC 5905 MAXDIST: a server whose root distance is larger is not a usable source. */
const MAX_ROOT_DISTANCE_S = 1.5;
const MAX_STRATUM = 15;

/** What the checks on a reply found; `kissOfDeath` asks the client to back off. */
export type ReplyProblem = { readonly error: string; readonly kissOfDeath?: string };

/** A server's reply after validation, with the four timestamps in Unix milliseconds. */
export interface NtpSample {
  readonly leap: number;
  readonly stratum: number;
  /** Reference id: four ASCII letters at stratum 1, the upstream's address otherwise. */
  readonly refId: string;
  readonly rootDelayMs: number;
  readonly rootDispersionMs: number;
  readonly t1: number;
  readonly t2: number;
  readonly t3: number;
  readonly t4: number;
  /** How far the local clock is behind the server ((t2 − t1) + (t3 − t4)) / 2. */
  readonly offsetMs: number;
  /** Round trip minus the server's processing time (t4 − t1) − (t3 − t2). */
  readonly delayMs: number;
}

/**
 * A client request. The transmit timestamp is the local send time (t1); the reply must echo it as
 * its origin timestamp, which is how stale or forged replies are told apart.
 */
export function encodeRequest(t1Ms: number): Buffer {
  const b = Buffer.alloc(48);
  b[0] = (0 << 6) | (4 << 3) | 3; // LI 0, version 4, mode 3 (client)
  writeTimestamp(b, 40, t1Ms);
  return b;
}

/** Validates a reply to the request sent at t1 (as encoded) and received at t4. */
export function decodeReply(buf: Buffer, request: Buffer, t4Ms: number): NtpSample | ReplyProblem {
  if (buf.length < 48) return { error: `reply too short: ${buf.length} bytes` };
  const leap = buf[0]! >> 6;
  const version = (buf[0]! >> 3) & 7;
  const mode = buf[0]! & 7;
  const stratum = buf[1]!;
  if (mode !== 4) return { error: `not a server reply (mode ${mode})` };
  if (version < 1 || version > 4) return { error: `unsupported version ${version}` };
  if (!buf.subarray(24, 32).equals(request.subarray(40, 48))) return { error: 'origin timestamp does not match the request' };
  const refBytes = buf.subarray(12, 16);
  if (stratum === 0) {
    const code = refBytes.toString('latin1').replace(/\0+$/, '');
    return { error: `kiss-o'-death ${code}`, kissOfDeath: code };
  }
  if (stratum > MAX_STRATUM) return { error: `server unsynchronised (stratum ${stratum})` };
  if (leap === 3) return { error: 'server unsynchronised (leap alarm)' };
  const t3Raw = buf.readUInt32BE(40) + buf.readUInt32BE(44);
  if (t3Raw === 0) return { error: 'reply without a transmit timestamp' };
  const rootDelayMs = short(buf, 4);
  const rootDispersionMs = short(buf, 8);
  if ((rootDelayMs / 2 + rootDispersionMs) / 1000 > MAX_ROOT_DISTANCE_S) {
    return { error: `root distance ${((rootDelayMs / 2 + rootDispersionMs) / 1000).toFixed(3)} s too large` };
  }
  const t1 = readTimestamp(request, 40);
  const t2 = readTimestamp(buf, 32);
  const t3 = readTimestamp(buf, 40);
  const t4 = t4Ms;
  const delayMs = t4 - t1 - (t3 - t2);
  if (delayMs < -1) return { error: `negative round trip ${delayMs.toFixed(3)} ms` };
  return {
    leap,
    stratum,
    refId: stratum === 1 ? refBytes.toString('latin1').replace(/\0+$/, '') : `${refBytes[0]}.${refBytes[1]}.${refBytes[2]}.${refBytes[3]}`,
    rootDelayMs,
    rootDispersionMs,
    t1,
    t2,
    t3,
    t4,
    offsetMs: (t2 - t1 + (t3 - t4)) / 2,
    delayMs: Math.max(0, delayMs),
  };
}

/** Writes a Unix-milliseconds time as a 64-bit NTP timestamp. */
export function writeTimestamp(b: Buffer, offset: number, unixMs: number): void {
  const s = unixMs / 1000 + NTP_UNIX_OFFSET_S;
  const sec = Math.floor(s);
  b.writeUInt32BE(sec >>> 0, offset);
  b.writeUInt32BE(Math.min(TWO_32 - 1, Math.floor((s - sec) * TWO_32)) >>> 0, offset + 4);
}

/** Reads a 64-bit NTP timestamp as Unix milliseconds (era 0, i.e. until 2036). */
export function readTimestamp(b: Buffer, offset: number): number {
  return (b.readUInt32BE(offset) - NTP_UNIX_OFFSET_S + b.readUInt32BE(offset + 4) / TWO_32) * 1000;
}

/** A 32-bit NTP short format (16.16 seconds) in milliseconds. */
function short(b: Buffer, offset: number): number {
  return (b.readUInt16BE(offset) + b.readUInt16BE(offset + 2) / 65536) * 1000;
}

/** Type guard for a failed reply. */
export function isProblem(r: NtpSample | ReplyProblem): r is ReplyProblem {
  return 'error' in r;
}
