// Test and bench helpers: fixture text and secrets taken from the fixture files, so every test
// uses the same real (openssl-made) certificates without a second copy of them.
import { readFileSync } from 'node:fs';
import { loadConfig } from '../load.ts';
import type { ConfigSecrets } from '../generate.ts';

const dir = new URL('.', import.meta.url).pathname;

/** Text of a fixture under testdata/. */
export function fixture(name: string): string {
  return readFileSync(`${dir}${name}`, 'utf8');
}

/** Secrets lifted from testdata/controlplane.yaml, shaped like upstream's secrets.yaml values. */
export function fixtureSecrets(): ConfigSecrets {
  const r = loadConfig(fixture('controlplane.yaml'), { filename: 'controlplane.yaml' });
  if (!r.value) throw new Error(r.error.message);
  const { machine: m, cluster: c } = r.value.config;
  const need = (v: string | undefined): string => {
    if (!v) throw new Error('fixture lacks a secret');
    return v;
  };
  return {
    clusterId: need(c?.id),
    clusterSecret: need(c?.secret),
    bootstrapToken: need(c?.token),
    secretboxEncryptionSecret: need(c?.secretboxEncryptionSecret),
    trustdToken: m.token,
    os: { crt: need(m.ca?.crt), key: need(m.ca?.key) },
    etcd: { crt: need(c?.etcd?.ca?.crt), key: need(c?.etcd?.ca?.key) },
    k8s: { crt: need(c?.ca?.crt), key: need(c?.ca?.key) },
    k8sAggregator: { crt: need(c?.aggregatorCA?.crt), key: need(c?.aggregatorCA?.key) },
    k8sServiceAccount: { key: need(c?.serviceAccount?.key) },
  };
}
