export {
  contextCredentials,
  loadTalosconfig,
  mergeTalosconfig,
  newTalosconfig,
  parseTalosconfig,
  resolveTalosconfigPath,
  saveTalosconfig,
  serializeTalosconfig,
} from './talosconfig.ts';
export type {
  ContextRename,
  Talosconfig,
  TalosconfigContext,
  TalosconfigError,
  TalosconfigLocation,
} from './talosconfig.ts';
export { requestCertificate, TRUSTD_PORT, TRUSTD_TOKEN_METADATA } from './trustd.ts';
export type { RequestCertificateOptions, IssuedCertificate } from './trustd.ts';
