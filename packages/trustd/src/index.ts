export { MAX_CERT_VALIDITY_SECONDS, TOKEN_METADATA_KEY, TRUSTD_PORT, TrustdFiles, createTrustd } from './trustd.ts';
export type { Trustd, TrustdOptions } from './trustd.ts';
/** The client side lives in machinery, so machined can ask trustd too; re-exported for convenience. */
export { requestCertificate } from '@talos-ts/machinery';
export type { RequestCertificateOptions, SignedCertificate } from '@talos-ts/machinery';
