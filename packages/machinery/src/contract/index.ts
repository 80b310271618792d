// The node contract: what programs on a node (machined, apid, trustd) and their clients
// (talosctl, provision, the API client) agree on. Defined once here, imported everywhere.
export { TALOS_API_PORT, TRUSTD_PORT } from './ports.ts';
export { CertFiles, STATE_LOCK_FILE, TRUSTED_IMAGE_KEY_PATH } from './files.ts';
export { MACHINED_SOCKET_PATH, nodePaths } from './layout.ts';
export type { NodePaths } from './layout.ts';
