export {
  Tag,
  DerError,
  decodeDer,
  derBitString,
  derBoolean,
  derContext,
  derInteger,
  derNull,
  derOctetString,
  derOid,
  derSequence,
  derSet,
  derTime,
  derUtf8String,
  readInteger,
  readOid,
  readString,
  readTime,
} from './der.ts';
export type { DerNode } from './der.ts';
export { PemLabel, decodePem, decodePemAll, encodePem } from './pem.ts';
export type { PemBlock } from './pem.ts';
export {
  SignatureAlgorithms,
  generateKey,
  keyPairFromPrivate,
  keyTypeOf,
  privateKeyFromPem,
  privateKeyToPem,
  privateKeyToPkcs8Pem,
  signatureAlgorithmFor,
  spkiDer,
} from './keys.ts';
export type { GenerateKeyOptions, KeyPair, KeyType, SignatureAlgorithm } from './keys.ts';
export {
  bytesToIp,
  certificateSpkiHash,
  createCsr,
  createSelfSignedCa,
  decodeName,
  encodeName,
  ipToBytes,
  isSignedBy,
  issueCertificate,
  keyIdentifier,
  keyUsageBits,
  loadCertificateAuthority,
  newSerialNumber,
  parseCertificate,
  parseCsr,
  signCsr,
} from './x509.ts';
export type {
  CertificateAuthority,
  CertificateTemplate,
  CsrOptions,
  DistinguishedName,
  ExtKeyUsage,
  IssueOptions,
  KeyUsage,
  ParsedCertificate,
  ParsedCsr,
  SelfSignedCaOptions,
  SignCsrOptions,
} from './x509.ts';
export {
  CA_VALIDITY_SECONDS,
  TOKEN_PATTERN,
  generateSecretsBundle,
  generateToken,
  loadSecretsBundle,
  parseSecretsBundle,
  saveSecretsBundle,
  serializeSecretsBundle,
  toConfigSecrets,
} from './bundle.ts';
export type {
  BundlePhase,
  FieldError,
  GenerateSecretsBundleOptions,
  ParseResult,
  PemCertificateAndKey,
  SaveSecretsBundleOptions,
  SecretsBundle,
} from './bundle.ts';
export { ADMIN_CERT_VALIDITY_SECONDS, generateAdminTalosconfig, generateClientCertificate } from './admin.ts';
export type { AdminTalosconfigOptions, ClientCertificateOptions } from './admin.ts';
