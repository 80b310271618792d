// The ports are upstream's: existing Talos tooling finds our nodes where it finds theirs.

/** apid's port on every node (and the maintenance service's, before a node has a config). */
export const TALOS_API_PORT = 50000;

/** trustd's port on control-plane nodes. */
export const TRUSTD_PORT = 50001;
