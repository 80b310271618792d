// Checks of string formats. Each returns null when the value is fine, else a short reason.
import { isIP } from 'node:net';
import { quoteValue } from './errors.ts';
import type { Format } from './schema.ts';

const durationRe = /^[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+$/;
const tokenRe = /^[a-z0-9]{6}\.[a-z0-9]{16}$/;
const macRe = /^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}$/;
const base64Re = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// Upstream writes cluster.id with the URL-safe alphabet (padded), so base64 fields accept both.
const base64UrlRe = /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}==|[A-Za-z0-9_-]{3}=)?$/;

/** True when s is an IPv4 or IPv6 address (no zone, no prefix). */
export function isIPAddress(s: string): boolean {
  return isIP(s) !== 0;
}

/** Parses "addr/prefix"; null when malformed. */
export function parseCIDR(s: string): { ip: string; prefix: number; family: 4 | 6 } | null {
  const slash = s.lastIndexOf('/');
  if (slash < 0) return null;
  const ip = s.slice(0, slash);
  const p = s.slice(slash + 1);
  if (!/^\d{1,3}$/.test(p)) return null;
  const family = isIP(ip);
  if (family === 0) return null;
  const prefix = Number(p);
  if (prefix > (family === 4 ? 32 : 128)) return null;
  return { ip, prefix, family: family === 4 ? 4 : 6 };
}

/** True when s is a Go time.Duration string such as 30s or 1h2m. */
export function isDuration(s: string): boolean {
  return s === '0' || durationRe.test(s);
}

/** Decodes strict base64; null when malformed. */
export function decodeBase64(s: string): Buffer | null {
  const t = s.replace(/\s+/g, '');
  if (base64Re.test(t)) return Buffer.from(t, 'base64');
  if (base64UrlRe.test(t)) return Buffer.from(t, 'base64url');
  return null;
}

/** True when s is a token of upstream's `[a-z0-9]{6}.[a-z0-9]{16}` shape. */
export function isToken(s: string): boolean {
  return tokenRe.test(s);
}

/** Returns why `value` does not fit `format`, or null when it does. Empty strings mean "unset" and pass. */
export function checkFormat(format: Format, value: string): string | null {
  if (value === '') return null;
  switch (format) {
    case 'cidr':
      return parseCIDR(value) ? null : `invalid CIDR ${quoteValue(value)}`;
    case 'ip':
      return isIPAddress(value) ? null : `invalid IP address ${quoteValue(value)}`;
    case 'ip-or-cidr':
      return isIPAddress(value) || parseCIDR(value) ? null : `invalid IP address or CIDR ${quoteValue(value)}`;
    case 'subnet-filter': {
      const v = value.startsWith('!') ? value.slice(1) : value;
      return isIPAddress(v) || parseCIDR(v) ? null : `invalid subnet ${quoteValue(value)} (want a CIDR, optionally prefixed by !)`;
    }
    case 'url': {
      if (!URL.canParse(value)) return `invalid URL ${quoteValue(value)}`;
      const u = new URL(value);
      return u.protocol && (u.host || u.protocol === 'file:') ? null : `invalid URL ${quoteValue(value)}: no host`;
    }
    case 'duration':
      return isDuration(value) ? null : `invalid duration ${quoteValue(value)} (want e.g. 30s, 1h2m)`;
    case 'base64':
      return decodeBase64(value) ? null : 'invalid base64';
    case 'pem': {
      const raw = decodeBase64(value);
      if (!raw) return 'invalid base64';
      return raw.toString('latin1').trimStart().startsWith('-----BEGIN ') ? null : 'base64 does not decode to a PEM block';
    }
    case 'token':
      return isToken(value) ? null : `invalid token ${quoteValue(value)} (want [a-z0-9]{6}.[a-z0-9]{16})`;
    case 'mac':
      return macRe.test(value) ? null : `invalid MAC address ${quoteValue(value)}`;
  }
}
