// PEM armour (RFC 7468 shape, as Go's encoding/pem writes it: 64-column base64 lines).

/** One PEM block: its label (e.g. `CERTIFICATE`) and the DER bytes it wraps. */
export interface PemBlock {
  readonly label: string;
  readonly der: Buffer;
}

/** Upstream's PEM labels (siderolabs/crypto); loaders also accept standard `PRIVATE KEY`. */
export const PemLabel = {
  Certificate: 'CERTIFICATE',
  CertificateRequest: 'CERTIFICATE REQUEST',
  Ed25519PrivateKey: 'ED25519 PRIVATE KEY',
  EcPrivateKey: 'EC PRIVATE KEY',
  RsaPrivateKey: 'RSA PRIVATE KEY',
  Pkcs8PrivateKey: 'PRIVATE KEY',
  PublicKey: 'PUBLIC KEY',
} as const;

/** Encodes DER bytes as one PEM block ending in a newline. */
export function encodePem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

const blockRe = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;

/** Decodes every PEM block in the text, in order. Headers (Proc-Type etc.) are not supported. */
export function decodePemAll(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  for (const m of text.matchAll(blockRe)) {
    const body = (m[2] ?? '').replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) throw new Error(`PEM block ${m[1]} has invalid base64`);
    out.push({ label: m[1] ?? '', der: Buffer.from(body, 'base64') });
  }
  return out;
}

/** Decodes the first PEM block; throws when there is none or its label is not one of `labels`. */
export function decodePem(text: string | Uint8Array, labels?: readonly string[]): PemBlock {
  const s = typeof text === 'string' ? text : Buffer.from(text).toString('utf8');
  const [block] = decodePemAll(s);
  if (!block) throw new Error('no PEM block found');
  if (labels && !labels.includes(block.label)) {
    throw new Error(`unexpected PEM block ${JSON.stringify(block.label)}, want one of ${labels.join(', ')}`);
  }
  return block;
}
