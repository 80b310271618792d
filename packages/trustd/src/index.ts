export { MAX_CERT_VALIDITY_SECONDS, TOKEN_METADATA_KEY, TRUSTD_PORT, TrustdFiles, createTrustd, requestCertificate } from './trustd.ts';
export type { RequestCertificateOptions, SignedCertificate, Trustd, TrustdOptions } from './trustd.ts';
