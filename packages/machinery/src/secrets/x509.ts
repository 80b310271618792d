// X.509 v3 certificates and PKCS#10 requests, built and read with our own DER code.
// Profile follows upstream Talos (siderolabs/crypto): CAs carry critical key usage
// digitalSignature+keyCertSign, EKU serverAuth+clientAuth, critical basicConstraints CA:TRUE
// and a subject key id; leaves carry the usages their caller asks for.

import { createHash, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { TalosError } from '@talos-ts/cosi';
import {
  decodeDer,
  DerError,
  derBitString,
  derBoolean,
  derContext,
  derDirectoryString,
  derInteger,
  derOctetString,
  derOid,
  derSequence,
  derSet,
  derTime,
  readInteger,
  readOid,
  readString,
  readTime,
  Tag,
  type DerNode,
} from './der.ts';
import {
  algorithmIdentifierDer,
  keyTypeOf,
  privateKeyFromPem,
  privateKeyToPem,
  SignatureAlgorithms,
  signatureAlgorithmFor,
  signWith,
  spkiDer,
  verifyWith,
  type KeyPair,
} from './keys.ts';
import { decodePem, encodePem, PemLabel } from './pem.ts';

/** Subject or issuer name; only the attributes Talos uses. */
export interface DistinguishedName {
  readonly commonName?: string;
  readonly organizations?: readonly string[];
}

/** Key usage bits (RFC 5280 4.2.1.3), in bit order. */
export const keyUsageBits = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
] as const;

/** One key usage bit name. */
export type KeyUsage = (typeof keyUsageBits)[number];

/** Extended key usages Talos issues. */
export type ExtKeyUsage = 'serverAuth' | 'clientAuth';

const Oid = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  subjectKeyId: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyId: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  extensionRequest: '1.2.840.113549.1.9.14',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

/** Everything a certificate holds that Talos cares about, plus the raw parts needed to chain. */
export interface ParsedCertificate {
  readonly der: Buffer;
  readonly serialNumber: bigint;
  readonly signatureAlgorithmOid: string;
  readonly issuer: DistinguishedName;
  readonly issuerDer: Buffer;
  readonly subject: DistinguishedName;
  readonly subjectDer: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly publicKey: KeyObject;
  readonly spkiDer: Buffer;
  readonly isCa: boolean;
  readonly keyUsage: readonly KeyUsage[];
  readonly extKeyUsage: readonly ExtKeyUsage[];
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly subjectKeyId?: Buffer;
  readonly authorityKeyId?: Buffer;
  /** TBSCertificate bytes and signature, to check who signed it. */
  readonly tbsDer: Buffer;
  readonly signature: Buffer;
}

/** A CA that can issue: its certificate (PEM and parsed) and its key. */
export interface CertificateAuthority {
  readonly crtPem: string;
  readonly keyPem: string;
  readonly cert: ParsedCertificate;
  readonly key: KeyPair;
}

// ---------------------------------------------------------------- encoding helpers

/** Encodes a name the way Go's pkix does: one RDN per attribute type, O before CN. */
export function encodeName(name: DistinguishedName): Buffer {
  const rdns: Buffer[] = [];
  const orgs = name.organizations ?? [];
  if (orgs.length > 0) {
    rdns.push(derSet(...orgs.map((o) => derSequence(derOid(Oid.organization), derDirectoryString(o)))));
  }
  if (name.commonName !== undefined && name.commonName !== '') {
    rdns.push(derSet(derSequence(derOid(Oid.commonName), derDirectoryString(name.commonName))));
  }
  return derSequence(...rdns);
}

/** IP text to its 4 or 16 bytes; throws on anything that is not an address. */
export function ipToBytes(ip: string): Buffer {
  const kind = isIP(ip);
  if (kind === 4) return Buffer.from(ip.split('.').map(Number));
  if (kind !== 6) throw new Error(`invalid IP address ${JSON.stringify(ip)}`);
  let text = ip.replace(/%.*$/, '');
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1]) {
    const b = v4[1].split('.').map(Number) as [number, number, number, number];
    text = text.slice(0, -v4[1].length) + `${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** 4 or 16 bytes to IP text (IPv6 compressed per RFC 5952). */
export function bytesToIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return [...bytes].join('.');
  if (bytes.length !== 16) throw new Error(`IP address of ${bytes.length} bytes`);
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

function extension(oid: string, critical: boolean, value: Buffer): Buffer {
  return critical
    ? derSequence(derOid(oid), derBoolean(true), derOctetString(value))
    : derSequence(derOid(oid), derOctetString(value));
}

function keyUsageValue(usages: readonly KeyUsage[]): Buffer {
  let bits = 0;
  for (const u of usages) bits |= 1 << keyUsageBits.indexOf(u);
  if (bits === 0) throw new Error('key usage must name at least one bit');
  // Bit 0 is the most significant bit of the first byte; DER drops trailing zero bits.
  const bytes = bits > 0xff ? 2 : 1;
  const value = Buffer.alloc(bytes);
  for (let i = 0; i < 9; i++) if (bits & (1 << i)) value[i >> 3] = (value[i >> 3] ?? 0) | (0x80 >> (i & 7));
  let lowest = 0;
  for (let i = 0; i < 9; i++) if (bits & (1 << i)) lowest = i;
  const unused = bytes * 8 - 1 - lowest;
  return derBitString(value, unused);
}

function sanValue(dnsNames: readonly string[], ipAddresses: readonly string[]): Buffer {
  return derSequence(
    ...dnsNames.map((d) => derContext(2, Buffer.from(d, 'ascii'), false)),
    ...ipAddresses.map((ip) => derContext(7, ipToBytes(ip), false)),
  );
}

/** Key identifier derived from the public key: the first 20 bytes of SHA-256 over the key bits. */
export function keyIdentifier(spki: Buffer): Buffer {
  const keyBits = decodeDer(spki).children[1];
  if (!keyBits) throw new Error('malformed SubjectPublicKeyInfo');
  return createHash('sha256').update(keyBits.content.subarray(1)).digest().subarray(0, 20);
}

/** A random positive 128-bit serial number, as upstream draws them. */
export function newSerialNumber(): bigint {
  let v = 0n;
  while (v === 0n) v = BigInt(`0x${randomBytes(16).toString('hex')}`);
  return v;
}

/** What goes into a certificate, before signing. */
export interface CertificateTemplate {
  readonly subject: DistinguishedName;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly isCa?: boolean;
  readonly keyUsage?: readonly KeyUsage[];
  readonly extKeyUsage?: readonly ExtKeyUsage[];
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  readonly serialNumber?: bigint;
  /** Use these subject bytes verbatim (when copying a CSR subject we did not write). */
  readonly subjectDer?: Buffer;
}

function buildCertificate(
  template: CertificateTemplate,
  subjectPublicKey: KeyObject,
  issuer: { readonly nameDer: Buffer; readonly key: KeyPair; readonly keyId?: Buffer },
): Buffer {
  if (template.notAfter.getTime() <= template.notBefore.getTime()) throw new Error('notAfter must be after notBefore');
  const alg = signatureAlgorithmFor(issuer.key.type);
  const spki = spkiDer(subjectPublicKey);
  const ski = keyIdentifier(spki);
  const exts: Buffer[] = [
    extension(
      Oid.keyUsage,
      true,
      keyUsageValue(template.keyUsage ?? (template.isCa ? ['digitalSignature', 'keyCertSign'] : ['digitalSignature'])),
    ),
  ];
  const eku = template.extKeyUsage ?? [];
  if (eku.length > 0) exts.push(extension(Oid.extKeyUsage, false, derSequence(...eku.map((e) => derOid(Oid[e])))));
  exts.push(extension(Oid.basicConstraints, true, template.isCa ? derSequence(derBoolean(true)) : derSequence()));
  exts.push(extension(Oid.subjectKeyId, false, derOctetString(ski)));
  if (issuer.keyId && !template.isCa) {
    exts.push(extension(Oid.authorityKeyId, false, derSequence(derContext(0, issuer.keyId, false))));
  }
  const dns = template.dnsNames ?? [];
  const ips = template.ipAddresses ?? [];
  if (dns.length + ips.length > 0) exts.push(extension(Oid.subjectAltName, false, sanValue(dns, ips)));

  const tbs = derSequence(
    derContext(0, derInteger(2), true),
    derInteger(template.serialNumber ?? newSerialNumber()),
    algorithmIdentifierDer(alg),
    issuer.nameDer,
    derSequence(derTime(template.notBefore), derTime(template.notAfter)),
    template.subjectDer ?? encodeName(template.subject),
    spki,
    derContext(3, derSequence(...exts), true),
  );
  const signature = signWith(issuer.key.privateKey, alg, tbs);
  return derSequence(tbs, algorithmIdentifierDer(alg), derBitString(signature));
}

// ---------------------------------------------------------------- parsing

function child(node: DerNode, index: number, what: string): DerNode {
  const c = node.children[index];
  if (!c) throw new DerError(`malformed ${what}: element ${index} missing`);
  return c;
}

/** Reads a SubjectPublicKeyInfo; OpenSSL's complaint about a bad one becomes a DerError. */
function publicKeyOf(spki: DerNode): KeyObject {
  try {
    return createPublicKey({ key: spki.raw, format: 'der', type: 'spki' });
  } catch (err) {
    throw new DerError(`unusable SubjectPublicKeyInfo: ${(err as Error).message}`, undefined, { cause: err });
  }
}

/**
 * Runs a parser of untrusted bytes so that whatever goes wrong surfaces as a typed error: our own
 * checks throw DerError already; this is the net under the library calls between them.
 */
function parsing<T>(what: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof TalosError) throw err;
    throw new DerError(`${what}: ${err instanceof Error ? err.message : String(err)}`, undefined, { cause: err });
  }
}

/** Reads a Name into the attributes we use. */
export function decodeName(node: DerNode): DistinguishedName {
  let commonName: string | undefined;
  const organizations: string[] = [];
  for (const rdn of node.children) {
    for (const atv of rdn.children) {
      const oid = readOid(child(atv, 0, 'name attribute'));
      const value = readString(child(atv, 1, 'name attribute'));
      if (oid === Oid.commonName) commonName = value;
      else if (oid === Oid.organization) organizations.push(value);
    }
  }
  return commonName === undefined ? { organizations } : { commonName, organizations };
}

interface ParsedExtensions {
  isCa: boolean;
  keyUsage: KeyUsage[];
  extKeyUsage: ExtKeyUsage[];
  dnsNames: string[];
  ipAddresses: string[];
  subjectKeyId?: Buffer;
  authorityKeyId?: Buffer;
}

function parseExtensions(list: DerNode | undefined): ParsedExtensions {
  const out: ParsedExtensions = { isCa: false, keyUsage: [], extKeyUsage: [], dnsNames: [], ipAddresses: [] };
  for (const ext of list?.children ?? []) {
    const oid = readOid(child(ext, 0, 'extension'));
    const valueNode = ext.children[ext.children.length - 1];
    if (!valueNode || valueNode.identifier !== Tag.OctetString) throw new Error('malformed extension');
    const value = decodeDer(valueNode.content);
    switch (oid) {
      case Oid.basicConstraints: {
        const first = value.children[0];
        out.isCa = first !== undefined && first.identifier === Tag.Boolean && first.content[0] !== 0;
        break;
      }
      case Oid.keyUsage: {
        const bytes = value.content.subarray(1);
        keyUsageBits.forEach((name, i) => {
          if (((bytes[i >> 3] ?? 0) & (0x80 >> (i & 7))) !== 0) out.keyUsage.push(name);
        });
        break;
      }
      case Oid.extKeyUsage:
        for (const n of value.children) {
          const o = readOid(n);
          if (o === Oid.serverAuth) out.extKeyUsage.push('serverAuth');
          else if (o === Oid.clientAuth) out.extKeyUsage.push('clientAuth');
        }
        break;
      case Oid.subjectAltName:
        for (const n of value.children) {
          if (n.identifier === 0x82) out.dnsNames.push(n.content.toString('ascii'));
          else if (n.identifier === 0x87) {
            if (n.content.length !== 4 && n.content.length !== 16) throw new DerError(`IP address SAN of ${n.content.length} bytes`);
            out.ipAddresses.push(bytesToIp(n.content));
          }
        }
        break;
      case Oid.subjectKeyId:
        out.subjectKeyId = Buffer.from(value.content);
        break;
      case Oid.authorityKeyId: {
        const id = value.children.find((n) => n.identifier === 0x80);
        if (id) out.authorityKeyId = Buffer.from(id.content);
        break;
      }
    }
  }
  return out;
}

/** Parses a certificate from PEM text or DER bytes. Throws with a reason on malformed input. */
export function parseCertificate(input: string | Uint8Array): ParsedCertificate {
  return parsing('certificate', () => parseCertificateUnchecked(input));
}

function parseCertificateUnchecked(input: string | Uint8Array): ParsedCertificate {
  const der =
    typeof input === 'string' || Buffer.from(input).subarray(0, 5).toString() === '-----'
      ? decodePem(input, [PemLabel.Certificate]).der
      : Buffer.from(input);
  const root = decodeDer(der);
  const tbs = child(root, 0, 'certificate');
  const sigAlg = child(root, 1, 'certificate');
  const sig = child(root, 2, 'certificate');
  let i = 0;
  if (tbs.children[0]?.identifier === 0xa0) i = 1;
  const serial = child(tbs, i, 'TBSCertificate');
  const issuer = child(tbs, i + 2, 'TBSCertificate');
  const validity = child(tbs, i + 3, 'TBSCertificate');
  const subject = child(tbs, i + 4, 'TBSCertificate');
  const spki = child(tbs, i + 5, 'TBSCertificate');
  const extsWrapper = tbs.children.slice(i + 6).find((n) => n.identifier === 0xa3);
  const exts = parseExtensions(extsWrapper?.children[0]);
  const publicKey = publicKeyOf(spki);
  return {
    der: Buffer.from(der),
    serialNumber: readInteger(serial),
    signatureAlgorithmOid: readOid(child(sigAlg, 0, 'signature algorithm')),
    issuer: decodeName(issuer),
    issuerDer: Buffer.from(issuer.raw),
    subject: decodeName(subject),
    subjectDer: Buffer.from(subject.raw),
    notBefore: readTime(child(validity, 0, 'validity')),
    notAfter: readTime(child(validity, 1, 'validity')),
    publicKey,
    spkiDer: Buffer.from(spki.raw),
    ...exts,
    tbsDer: Buffer.from(tbs.raw),
    signature: Buffer.from(sig.content.subarray(1)),
  };
}

/** True when `cert` carries a valid signature by `issuer`'s key and names it as issuer. */
export function isSignedBy(cert: ParsedCertificate, issuer: ParsedCertificate): boolean {
  if (!cert.issuerDer.equals(issuer.subjectDer)) return false;
  return verifyWith(issuer.publicKey, cert.signatureAlgorithmOid, cert.tbsDer, cert.signature);
}

// ---------------------------------------------------------------- CAs and leaves

/** Options of {@link createSelfSignedCa}. */
export interface SelfSignedCaOptions {
  readonly key: KeyPair;
  readonly subject: DistinguishedName;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
}

/** A self-signed CA with upstream's profile (usable for both server and client auth). */
export function createSelfSignedCa(options: SelfSignedCaOptions): CertificateAuthority {
  const nameDer = encodeName(options.subject);
  const der = buildCertificate(
    {
      subject: options.subject,
      notBefore: options.notBefore,
      notAfter: options.notAfter,
      isCa: true,
      keyUsage: ['digitalSignature', 'keyCertSign'],
      extKeyUsage: ['serverAuth', 'clientAuth'],
      dnsNames: options.dnsNames ?? [],
      ipAddresses: options.ipAddresses ?? [],
    },
    options.key.publicKey,
    { nameDer, key: options.key },
  );
  const crtPem = encodePem(PemLabel.Certificate, der);
  return { crtPem, keyPem: privateKeyToPem(options.key), cert: parseCertificate(der), key: options.key };
}

/** Loads a CA from PEM certificate and key; checks that the key belongs to the certificate. */
export function loadCertificateAuthority(crtPem: string | Uint8Array, keyPem: string | Uint8Array): CertificateAuthority {
  const cert = parseCertificate(typeof crtPem === 'string' ? crtPem : Buffer.from(crtPem).toString('utf8'));
  const key = privateKeyFromPem(keyPem);
  if (!spkiDer(key.publicKey).equals(cert.spkiDer)) throw new Error('CA key does not match CA certificate');
  return {
    crtPem: typeof crtPem === 'string' ? crtPem : Buffer.from(crtPem).toString('utf8'),
    keyPem: typeof keyPem === 'string' ? keyPem : Buffer.from(keyPem).toString('utf8'),
    cert,
    key,
  };
}

/** Options of {@link issueCertificate}. */
export interface IssueOptions extends CertificateTemplate {
  /** Public key of the subject (a private key works too: its public half is used). */
  readonly publicKey: KeyObject;
}

/** Issues a certificate signed by `ca`; returns its PEM. */
export function issueCertificate(ca: CertificateAuthority, options: IssueOptions): string {
  keyTypeOf(options.publicKey);
  const der = buildCertificate(options, options.publicKey, {
    nameDer: ca.cert.subjectDer,
    key: ca.key,
    keyId: ca.cert.subjectKeyId ?? keyIdentifier(ca.cert.spkiDer),
  });
  return encodePem(PemLabel.Certificate, der);
}

// ---------------------------------------------------------------- CSRs

/** Options of {@link createCsr}. */
export interface CsrOptions {
  readonly subject: DistinguishedName;
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
}

/** Creates a PKCS#10 request signed by `key`, carrying SANs as an extension request. */
export function createCsr(key: KeyPair, options: CsrOptions): string {
  const dns = options.dnsNames ?? [];
  const ips = options.ipAddresses ?? [];
  const attributes =
    dns.length + ips.length > 0
      ? [
          derSequence(
            derOid(Oid.extensionRequest),
            derSet(derSequence(extension(Oid.subjectAltName, false, sanValue(dns, ips)))),
          ),
        ]
      : [];
  const info = derSequence(
    derInteger(0),
    encodeName(options.subject),
    spkiDer(key.publicKey),
    derContext(0, Buffer.concat(attributes), true),
  );
  const alg = signatureAlgorithmFor(key.type);
  const der = derSequence(info, algorithmIdentifierDer(alg), derBitString(signWith(key.privateKey, alg, info)));
  return encodePem(PemLabel.CertificateRequest, der);
}

/** A parsed certification request. */
export interface ParsedCsr {
  readonly subject: DistinguishedName;
  readonly subjectDer: Buffer;
  readonly publicKey: KeyObject;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly signatureValid: boolean;
}

/**
 * Parses a PEM (or DER) PKCS#10 request and checks its self-signature. Malformed input of any
 * kind throws a DerError (InvalidArgument); callers facing the network should bound the size first.
 */
export function parseCsr(input: string | Uint8Array): ParsedCsr {
  return parsing('CSR', () => parseCsrUnchecked(input));
}

function parseCsrUnchecked(input: string | Uint8Array): ParsedCsr {
  const der =
    typeof input === 'string' || Buffer.from(input).subarray(0, 5).toString() === '-----'
      ? decodePem(input, [PemLabel.CertificateRequest, 'NEW CERTIFICATE REQUEST']).der
      : Buffer.from(input);
  const root = decodeDer(der);
  const info = child(root, 0, 'CSR');
  const alg = readOid(child(child(root, 1, 'CSR'), 0, 'CSR signature algorithm'));
  const signature = child(root, 2, 'CSR').content.subarray(1);
  const subject = child(info, 1, 'CSR info');
  const spki = child(info, 2, 'CSR info');
  const publicKey = publicKeyOf(spki);
  let exts: ParsedExtensions = { isCa: false, keyUsage: [], extKeyUsage: [], dnsNames: [], ipAddresses: [] };
  const attrs = info.children[3];
  for (const attr of attrs?.children ?? []) {
    if (readOid(child(attr, 0, 'CSR attribute')) !== Oid.extensionRequest) continue;
    exts = parseExtensions(child(attr, 1, 'CSR attribute').children[0]);
  }
  return {
    subject: decodeName(subject),
    subjectDer: Buffer.from(subject.raw),
    publicKey,
    dnsNames: exts.dnsNames,
    ipAddresses: exts.ipAddresses,
    signatureValid: signatureVerifies(publicKey, alg, info.raw, signature),
  };
}

/** A signature that cannot even be checked (e.g. a key of another type than the algorithm) does not verify. */
function signatureVerifies(publicKey: KeyObject, algOid: string, data: Buffer, signature: Buffer): boolean {
  if (!Object.values(SignatureAlgorithms).some((a) => a.oid === algOid)) throw new DerError(`unsupported signature algorithm ${algOid}`);
  try {
    return verifyWith(publicKey, algOid, data, signature);
  } catch {
    return false;
  }
}

/** Options of {@link signCsr}. */
export interface SignCsrOptions {
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly keyUsage?: readonly KeyUsage[];
  readonly extKeyUsage?: readonly ExtKeyUsage[];
}

/** Signs a CSR with a CA, copying subject and SANs from the request (as upstream's `gen crt`). */
export function signCsr(ca: CertificateAuthority, csrPem: string | Uint8Array, options: SignCsrOptions): string {
  const csr = parseCsr(csrPem);
  if (!csr.signatureValid) throw new Error('CSR signature does not verify');
  return issueCertificate(ca, {
    publicKey: csr.publicKey,
    subject: csr.subject,
    subjectDer: csr.subjectDer,
    notBefore: options.notBefore,
    notAfter: options.notAfter,
    keyUsage: options.keyUsage ?? ['digitalSignature'],
    extKeyUsage: options.extKeyUsage ?? ['serverAuth', 'clientAuth'],
    dnsNames: csr.dnsNames,
    ipAddresses: csr.ipAddresses,
  });
}

/** Upstream's pin of a certificate: `sha256:` + hex SHA-256 of its SubjectPublicKeyInfo. */
export function certificateSpkiHash(cert: ParsedCertificate): string {
  return `sha256:${createHash('sha256').update(cert.spkiDer).digest('hex')}`;
}
