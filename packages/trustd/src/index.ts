export {
  MAX_CERT_VALIDITY_SECONDS,
  MAX_CSR_BYTES,
  MAX_CSR_SANS,
  MAX_DNS_LABEL_LENGTH,
  MAX_DNS_NAME_LENGTH,
  TOKEN_METADATA_KEY,
  TRUSTD_PORT,
  TrustdFiles,
  createTrustd,
} from './trustd.ts';
export type { Trustd, TrustdOptions } from './trustd.ts';
export {
  DEFAULT_FAILURE_BURST,
  DEFAULT_FAILURE_REFILL_PER_SECOND,
  DEFAULT_MAX_TRACKED_SOURCES,
  DEFAULT_REFUSAL_LOG_BURST,
  DEFAULT_REFUSAL_LOG_INTERVAL_MS,
  FailedTokenLimiter,
  limiterSource,
} from './limiter.ts';
export type { FailedTokenLimiterOptions, RefusalReport } from './limiter.ts';
/** The client side lives in machinery, so machined can ask trustd too; re-exported for convenience. */
export { requestCertificate } from '@talos-ts/machinery';
export type { RequestCertificateOptions, SignedCertificate } from '@talos-ts/machinery';
