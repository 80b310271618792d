// Test support: a node's API served over real mTLS by the machinery test server, and a talosconfig
// pointing at it, so commands run as a user runs them (only the node's handlers are the test's).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  issueTestPki,
  newTalosconfig,
  serializeTalosconfig,
  startTestApiServer,
  type TestApiServer,
  type TestPki,
  type TestServiceBinding,
} from '@talos-ts/machinery';
import { main } from '../main.ts';

let pkiPromise: Promise<TestPki> | undefined;

/** One throwaway PKI per test process (key generation is the slow part). */
export const testPki = (): Promise<TestPki> => (pkiPromise ??= issueTestPki());

/** What a command run printed and returned. */
export interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** A fake node and a way to run talosctl against it; disposing stops the server and removes files. */
export interface FakeNode extends AsyncDisposable {
  readonly server: TestApiServer;
  readonly pki: TestPki;
  /** A scratch directory (holds the talosconfig), removed on dispose. */
  readonly dir: string;
  readonly talosconfig: string;
  run(...args: string[]): Promise<Run>;
}

/** Starts a fake node serving `services`; the talosconfig targets `nodes` (default 10.5.0.2). */
export async function fakeNode(services: TestServiceBinding[], opts: { nodes?: string[] } = {}): Promise<FakeNode> {
  const pki = await testPki();
  const server = await startTestApiServer({ tls: { crtPem: pki.serverCrtPem, keyPem: pki.serverKeyPem, clientCaPem: pki.caPem }, services });
  const dir = mkdtempSync(join(tmpdir(), 'talosctl-fake-node-'));
  const talosconfig = join(dir, 'talosconfig');
  const cfg = newTalosconfig('test', {
    endpoints: [server.address],
    nodes: opts.nodes ?? ['10.5.0.2'],
    caPem: pki.caPem,
    crtPem: pki.clientCrtPem,
    keyPem: pki.clientKeyPem,
  });
  writeFileSync(talosconfig, serializeTalosconfig(cfg));
  return {
    server,
    pki,
    dir,
    talosconfig,
    run: async (...args) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await main(['--talosconfig', talosconfig, ...args], { out: (t) => void out.push(t), err: (t) => void err.push(t) });
      return { code, out: out.join(''), err: err.join('') };
    },
    [Symbol.asyncDispose]: async () => {
      await server[Symbol.asyncDispose]();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
