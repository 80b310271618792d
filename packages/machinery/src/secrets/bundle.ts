// The cluster secrets bundle (secrets.yaml): everything `gen config` needs that must stay the
// same across every node of a cluster. Kept in upstream's exact YAML shape so bundles move
// freely between upstream talosctl and ours.

import type { ConfigSecrets } from '../config/index.ts';
import { randomBytes, randomInt } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { Code, TalosError } from '@talos-ts/cosi';
import { generateKey, privateKeyFromPem, privateKeyToPem, spkiDer, type KeyPair, type KeyType } from './keys.ts';
import { createSelfSignedCa, parseCertificate, type DistinguishedName } from './x509.ts';

/** Upstream's CA lifetime: 87600 hours (10 years of 365 days). */
export const CA_VALIDITY_SECONDS = 87600 * 3600;

/** A PEM certificate with its PEM private key (text, not base64). */
export interface PemCertificateAndKey {
  readonly crt: string;
  readonly key: string;
}

/** The secrets bundle, in memory. PEMs are held as text; YAML stores them base64-encoded. */
export interface SecretsBundle {
  readonly cluster: { readonly id: string; readonly secret: string };
  readonly secrets: {
    readonly bootstrapToken: string;
    /** Set by bundles from Talos ≥ 1.3; older ones carry `aescbcEncryptionSecret` instead. */
    readonly secretboxEncryptionSecret?: string;
    readonly aescbcEncryptionSecret?: string;
  };
  readonly trustdInfo: { readonly token: string };
  readonly certs: {
    readonly etcd: PemCertificateAndKey;
    readonly k8s: PemCertificateAndKey;
    readonly k8sAggregator: PemCertificateAndKey;
    readonly k8sServiceAccount: { readonly key: string };
    readonly os: PemCertificateAndKey;
  };
}

/** Where time is spent in {@link generateSecretsBundle}, reported through `onPhase`. */
export type BundlePhase = 'keys' | 'certs' | 'rest';

/** Options of {@link generateSecretsBundle}. */
export interface GenerateSecretsBundleOptions {
  /** Start of every CA's validity; defaults to now. */
  readonly now?: Date;
  /** Upstream uses RSA-4096 for Talos ≥ 1.7 and ECDSA P-256 before; RSA is the default. */
  readonly serviceAccountKeyType?: Extract<KeyType, 'rsa' | 'ecdsa'>;
  /** RSA modulus for the service-account key; 4096 as upstream. */
  readonly rsaBits?: number;
  /** Receives the wall time of each phase (benchmarks). */
  readonly onPhase?: (phase: BundlePhase, elapsedMs: number) => void;
}

const tokenAlphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';

function randomChars(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += tokenAlphabet[randomInt(tokenAlphabet.length)];
  return s;
}

/** A kubeadm-style token `[a-z0-9]{6}.[a-z0-9]{16}` (bootstrap and trustd tokens). */
export function generateToken(): string {
  return `${randomChars(6)}.${randomChars(16)}`;
}

/** Tokens as upstream validates them. */
export const TOKEN_PATTERN = /^[a-z0-9]{6}\.[a-z0-9]{16}$/;

/** Generates a complete bundle: four CAs, a service-account key, tokens and cluster identity. */
export async function generateSecretsBundle(options: GenerateSecretsBundleOptions = {}): Promise<SecretsBundle> {
  const now = options.now ?? new Date();
  const notBefore = new Date(Math.floor(now.getTime() / 1000) * 1000);
  const notAfter = new Date(notBefore.getTime() + CA_VALIDITY_SECONDS * 1000);
  const report = options.onPhase ?? (() => {});

  let t = performance.now();
  const [osKey, etcdKey, k8sKey, aggKey, saKey] = await Promise.all([
    generateKey('ed25519'),
    generateKey('ecdsa'),
    generateKey('ecdsa'),
    generateKey('ecdsa'),
    generateKey(options.serviceAccountKeyType ?? 'rsa', options.rsaBits === undefined ? {} : { rsaBits: options.rsaBits }),
  ]);
  report('keys', performance.now() - t);

  t = performance.now();
  const ca = (key: KeyPair, subject: DistinguishedName): PemCertificateAndKey => {
    const made = createSelfSignedCa({ key, subject, notBefore, notAfter });
    return { crt: made.crtPem, key: made.keyPem };
  };
  const certs = {
    etcd: ca(etcdKey, { organizations: ['etcd'] }),
    k8s: ca(k8sKey, { organizations: ['kubernetes'] }),
    // Upstream names the aggregator CA by CN; the O-less subject is what front-proxy expects.
    k8sAggregator: ca(aggKey, { commonName: 'front-proxy' }),
    k8sServiceAccount: { key: privateKeyToPem(saKey) },
    os: ca(osKey, { organizations: ['talos'] }),
  };
  report('certs', performance.now() - t);

  t = performance.now();
  const bundle: SecretsBundle = {
    cluster: {
      // Upstream encodes the id URL-safe and the secret with the standard alphabet.
      id: randomBytes(32).toString('base64url') + '=',
      secret: randomBytes(32).toString('base64'),
    },
    secrets: {
      bootstrapToken: generateToken(),
      secretboxEncryptionSecret: randomBytes(32).toString('base64'),
    },
    trustdInfo: { token: generateToken() },
    certs,
  };
  report('rest', performance.now() - t);
  return bundle;
}

// ---------------------------------------------------------------- YAML

const b64 = (pem: string): string => Buffer.from(pem, 'utf8').toString('base64');

/** The bundle as upstream's YAML document (4-space indent, PEMs base64-encoded). */
export function serializeSecretsBundle(bundle: SecretsBundle): string {
  const secrets: Record<string, string> = { bootstraptoken: bundle.secrets.bootstrapToken };
  if (bundle.secrets.aescbcEncryptionSecret) secrets['aescbcencryptionsecret'] = bundle.secrets.aescbcEncryptionSecret;
  if (bundle.secrets.secretboxEncryptionSecret) {
    secrets['secretboxencryptionsecret'] = bundle.secrets.secretboxEncryptionSecret;
  }
  const pair = (p: PemCertificateAndKey) => ({ crt: b64(p.crt), key: b64(p.key) });
  const doc = {
    cluster: { id: bundle.cluster.id, secret: bundle.cluster.secret },
    secrets,
    trustdinfo: { token: bundle.trustdInfo.token },
    certs: {
      etcd: pair(bundle.certs.etcd),
      k8s: pair(bundle.certs.k8s),
      k8saggregator: pair(bundle.certs.k8sAggregator),
      k8sserviceaccount: { key: b64(bundle.certs.k8sServiceAccount.key) },
      os: pair(bundle.certs.os),
    },
  };
  return stringifyYaml(doc, { indent: 4, lineWidth: 0, minContentWidth: 0 });
}

/** A parse failure of untrusted input: the field path and what is wrong there. */
export interface FieldError {
  readonly path: string;
  readonly message: string;
}

/** Result of parsing untrusted input. */
export type ParseResult<T> = { readonly value: T } | { readonly error: FieldError };

class FieldFailure extends Error {
  constructor(readonly path: string, message: string) {
    super(message);
  }
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function obj(v: unknown, path: string): Obj {
  if (v === undefined || v === null) throw new FieldFailure(path, 'is required');
  if (!isObj(v)) throw new FieldFailure(path, 'must be a mapping');
  return v;
}

function str(parent: Obj, key: string, path: string, required = true): string | undefined {
  const v = parent[key];
  if (v === undefined || v === null || v === '') {
    if (required) throw new FieldFailure(`${path}.${key}`, 'is required');
    return undefined;
  }
  if (typeof v !== 'string') throw new FieldFailure(`${path}.${key}`, 'must be a string');
  return v;
}

function pemField(parent: Obj, key: string, path: string): string {
  const raw = str(parent, key, path) as string;
  if (!/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(raw)) throw new FieldFailure(`${path}.${key}`, 'is not valid base64');
  const text = Buffer.from(raw, 'base64').toString('utf8');
  if (!text.includes('-----BEGIN ')) throw new FieldFailure(`${path}.${key}`, 'does not decode to a PEM block');
  return text;
}

function certAndKey(parent: Obj, key: string, path: string): PemCertificateAndKey {
  const p = `${path}.${key}`;
  const o = obj(parent[key], p);
  const crt = pemField(o, 'crt', p);
  const k = pemField(o, 'key', p);
  let cert;
  try {
    cert = parseCertificate(crt);
  } catch (err) {
    throw new FieldFailure(`${p}.crt`, `invalid certificate: ${(err as Error).message}`);
  }
  let pair;
  try {
    pair = privateKeyFromPem(k);
  } catch (err) {
    throw new FieldFailure(`${p}.key`, `invalid key: ${(err as Error).message}`);
  }
  if (!spkiDer(pair.publicKey).equals(cert.spkiDer)) throw new FieldFailure(`${p}.key`, 'does not match the certificate');
  return { crt, key: k };
}

/** Parses upstream's secrets.yaml text; errors name the field path (`certs.os.key: ...`). */
export function parseSecretsBundle(text: string): ParseResult<SecretsBundle> {
  let doc: unknown;
  try {
    // failsafe: every scalar is a string, as upstream's Go structs read them.
    doc = parseYaml(text, { schema: 'failsafe', uniqueKeys: true });
  } catch (err) {
    return { error: { path: '', message: `invalid YAML: ${(err as Error).message.split('\n')[0] ?? ''}` } };
  }
  try {
    const root = obj(doc, '(document)');
    const cluster = obj(root['cluster'], 'cluster');
    const secrets = obj(root['secrets'], 'secrets');
    const trustd = obj(root['trustdinfo'], 'trustdinfo');
    const certs = obj(root['certs'], 'certs');
    const bootstrapToken = str(secrets, 'bootstraptoken', 'secrets') as string;
    const secretbox = str(secrets, 'secretboxencryptionsecret', 'secrets', false);
    const aescbc = str(secrets, 'aescbcencryptionsecret', 'secrets', false);
    if (!secretbox && !aescbc) {
      throw new FieldFailure('secrets.secretboxencryptionsecret', 'one of secretboxencryptionsecret, aescbcencryptionsecret is required');
    }
    if (secretbox && aescbc) {
      throw new FieldFailure('secrets.aescbcencryptionsecret', 'only one of secretboxencryptionsecret, aescbcencryptionsecret is allowed');
    }
    const sa = obj(certs['k8sserviceaccount'], 'certs.k8sserviceaccount');
    const saKey = pemField(sa, 'key', 'certs.k8sserviceaccount');
    try {
      privateKeyFromPem(saKey);
    } catch (err) {
      throw new FieldFailure('certs.k8sserviceaccount.key', `invalid key: ${(err as Error).message}`);
    }
    const value: SecretsBundle = {
      cluster: { id: str(cluster, 'id', 'cluster') as string, secret: str(cluster, 'secret', 'cluster') as string },
      secrets: {
        bootstrapToken,
        ...(secretbox ? { secretboxEncryptionSecret: secretbox } : {}),
        ...(aescbc ? { aescbcEncryptionSecret: aescbc } : {}),
      },
      trustdInfo: { token: str(trustd, 'token', 'trustdinfo') as string },
      certs: {
        etcd: certAndKey(certs, 'etcd', 'certs'),
        k8s: certAndKey(certs, 'k8s', 'certs'),
        k8sAggregator: certAndKey(certs, 'k8saggregator', 'certs'),
        k8sServiceAccount: { key: saKey },
        os: certAndKey(certs, 'os', 'certs'),
      },
    };
    return { value };
  } catch (err) {
    if (err instanceof FieldFailure) return { error: { path: err.path, message: err.message } };
    throw err;
  }
}

/** Reads and validates a secrets.yaml; a bad file throws InvalidArgument naming file and field. */
export async function loadSecretsBundle(file: string): Promise<SecretsBundle> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new TalosError(Code.NotFound, `${file}: cannot read secrets bundle: ${(err as Error).message}`, { cause: err });
  }
  const res = parseSecretsBundle(text);
  if ('error' in res) {
    const where = res.error.path ? `${res.error.path}: ` : '';
    throw new TalosError(Code.InvalidArgument, `${file}: ${where}${res.error.message}`, {
      details: { file, path: res.error.path },
    });
  }
  return res.value;
}

/** Options of {@link saveSecretsBundle}. */
export interface SaveSecretsBundleOptions {
  /** Replace an existing file; without it an existing file is an AlreadyExists error. */
  readonly overwrite?: boolean;
}

/** Writes secrets.yaml with mode 0600. */
export async function saveSecretsBundle(file: string, bundle: SecretsBundle, options: SaveSecretsBundleOptions = {}): Promise<void> {
  try {
    await writeFile(file, serializeSecretsBundle(bundle), { mode: 0o600, flag: options.overwrite ? 'w' : 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new TalosError(Code.AlreadyExists, `file "${file}" already exists, use --force to overwrite`, { cause: err });
    }
    throw TalosError.from(err, Code.Internal);
  }
}

// ---------------------------------------------------------------- config generator input

const b64Pair = (p: PemCertificateAndKey): { crt: string; key: string } => ({ crt: b64(p.crt), key: b64(p.key) });

/**
 * Flattens a bundle into the config generator's input, encoded as machine configs hold it:
 * certificates and keys as base64 of their PEM text.
 */
export function toConfigSecrets(bundle: SecretsBundle): ConfigSecrets {
  return {
    clusterId: bundle.cluster.id,
    clusterSecret: bundle.cluster.secret,
    bootstrapToken: bundle.secrets.bootstrapToken,
    secretboxEncryptionSecret: bundle.secrets.secretboxEncryptionSecret ?? '',
    trustdToken: bundle.trustdInfo.token,
    os: b64Pair(bundle.certs.os),
    etcd: b64Pair(bundle.certs.etcd),
    k8s: b64Pair(bundle.certs.k8s),
    k8sAggregator: b64Pair(bundle.certs.k8sAggregator),
    k8sServiceAccount: { key: b64(bundle.certs.k8sServiceAccount.key) },
  };
}
