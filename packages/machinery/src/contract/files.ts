/**
 * Names of the files machined writes into a certificates directory (`system/secrets/api`,
 * `system/secrets/trustd`, `system/secrets/etcd`) and apid, trustd and etcd read from it.
 * Which of them a directory holds depends on its reader: apid's has the client pair (to reach
 * other nodes), trustd's the CA key and the machine token.
 */
export const CertFiles = {
  ca: 'ca.crt',
  caKey: 'ca.key',
  serverCrt: 'server.crt',
  serverKey: 'server.key',
  clientCrt: 'client.crt',
  clientKey: 'client.key',
  token: 'token',
} as const;

/** machined's exclusive lock file in a state directory (it holds machined's PID). */
export const STATE_LOCK_FILE = 'machined.lock';

/**
 * Where an image's root holds the public key (Ed25519, SPKI PEM) that signed it: the key a node
 * running that image trusts for the installers it upgrades to or installs from.
 */
export const TRUSTED_IMAGE_KEY_PATH = '/usr/lib/talos/image-signing-key.pub';
