import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newApiCertificates } from '@talos-ts/machinery';
import { startControllerSuite, waitFor } from '@talos-ts/testkit';
import { CertificateFilesController } from './certificate-files.ts';

// The controller copies the resource's PEM text as is, so any text stands in for the certificates.
const spec = {
  ca: 'ca-pem\n',
  server: { crt: 'server-crt-pem\n', key: 'server-key-pem\n' },
  client: { crt: 'client-crt-pem\n', key: 'client-key-pem\n' },
  renewAfter: Date.now() + 3600_000,
  notAfter: Date.now() + 7200_000,
  sans: ['127.0.0.1'],
};

async function writeWith(t: { after: (fn: () => void) => void }, damage: (dirs: { api: string }) => void) {
  const root = mkdtempSync(join(tmpdir(), 'certificate-files-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const api = join(root, 'system', 'secrets', 'api');
  mkdirSync(join(root, 'system', 'secrets'), { recursive: true });
  damage({ api });
  const controller = new CertificateFilesController({ apiCertsDir: api, trustdCertsDir: join(root, 'system', 'secrets', 'trustd') });
  // A short backoff: a controller that keeps failing restarts many times within the wait below.
  await using suite = startControllerSuite({ controllers: [controller], backoff: { initialMs: 10, maxMs: 50 } });
  suite.state.create(newApiCertificates(spec));
  await waitFor('the server certificate file', () => readFileSync(join(api, 'server.crt'), 'utf8') === spec.server.crt, 10_000);
  assert.ok(statSync(api).isDirectory());
  for (const [name, text] of [['server.key', spec.server.key], ['ca.crt', spec.ca], ['client.crt', spec.client.crt]] as const) {
    assert.equal(readFileSync(join(api, name), 'utf8'), text);
  }
  assert.equal(suite.runtime.status(controller.name).restarts, 0, 'repaired, not crash-looping');
}

test('CertificateFilesController: a file where secrets/api belongs is replaced by the directory, without a crash loop', async (t) => {
  await writeWith(t, ({ api }) => writeFileSync(api, 'I am not a directory\n'));
});

test('CertificateFilesController: a directory where a certificate file belongs is replaced by the file', async (t) => {
  await writeWith(t, ({ api }) => mkdirSync(join(api, 'server.crt', 'nested'), { recursive: true }));
});
