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
