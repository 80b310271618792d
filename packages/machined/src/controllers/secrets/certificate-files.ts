import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { Controller, ControllerContext } from '@talos-ts/cosi';
import {
  ActiveMachineConfigId,
  ApiCertificatesId,
  ApiCertificatesType,
  EtcdCertificatesId,
  EtcdCertificatesType,
  MachineConfigType,
  NamespaceName,
  issueCertificate,
  loadCertificateAuthority,
  generateKey,
  privateKeyToPkcs8Pem,
  type ApiCertificatesSpec,
  type EtcdCertificatesSpec,
  type MachineConfigSpec,
} from '@talos-ts/machinery';
import { machineConfigOf } from '../config/parse.ts';

/** Options of {@link CertificateFilesController}. */
export interface CertificateFilesOptions {
  readonly apiCertsDir: string;
  readonly trustdCertsDir: string;
  /** Where etcd's certificates go (control plane); absent means they are not written. */
  readonly etcdCertsDir?: string;
}

/** Writes a file only when its content differs, atomically (temp file + rename), mode 0600. */
async function put(dir: string, name: string, content: string): Promise<boolean> {
  const file = join(dir, name);
  const old = await readFile(file, 'utf8').catch(() => undefined);
  if (old === content) return false;
  await writeFile(`${file}.tmp`, content, { mode: 0o600 });
  await rename(`${file}.tmp`, file);
  return true;
}

const pem = (b64: string | undefined): string => (b64 ? Buffer.from(b64, 'base64').toString('utf8') : '');

/**
 * Hands certificates to apid, trustd and etcd as files in the state directory (the node contract):
 * apid's from the ApiCertificates resource; trustd's (OS CA pair, a server certificate that
 * reuses apid's SANs, and the machine token) and etcd's (from EtcdCertificates) on control-plane
 * nodes only.
 */
export class CertificateFilesController implements Controller {
  readonly name = 'secrets.CertificateFilesController';
  readonly inputs = [
    { namespace: NamespaceName.secrets, type: ApiCertificatesType, id: ApiCertificatesId, kind: 'weak' as const },
    { namespace: NamespaceName.config, type: MachineConfigType, id: ActiveMachineConfigId, kind: 'weak' as const },
    { namespace: NamespaceName.secrets, type: EtcdCertificatesType, id: EtcdCertificatesId, kind: 'weak' as const },
  ];
  readonly outputs = [];
  readonly #options: CertificateFilesOptions;

  constructor(options: CertificateFilesOptions) {
    this.#options = options;
  }

  async run(ctx: ControllerContext): Promise<void> {
    const { apiCertsDir, trustdCertsDir } = this.#options;
    let trustdFor: ApiCertificatesSpec | undefined;
    for await (const _ of ctx.changes()) {
      await this.#writeEtcd(ctx);
      const api = ctx.find<ApiCertificatesSpec>({ namespace: NamespaceName.secrets, type: ApiCertificatesType, id: ApiCertificatesId });
      if (!api) continue;
      await mkdir(apiCertsDir, { recursive: true, mode: 0o700 });
      // Keys before certificates, so a reader that reacts to a new certificate finds its key.
      await put(apiCertsDir, 'server.key', api.spec.server.key);
      await put(apiCertsDir, 'ca.crt', api.spec.ca);
      if (api.spec.client) {
        await put(apiCertsDir, 'client.key', api.spec.client.key);
        await put(apiCertsDir, 'client.crt', api.spec.client.crt);
      } else {
        await rm(join(apiCertsDir, 'client.crt'), { force: true });
        await rm(join(apiCertsDir, 'client.key'), { force: true });
      }
      await put(apiCertsDir, 'server.crt', api.spec.server.crt);

      const cfgRes = ctx.find<MachineConfigSpec>({ namespace: NamespaceName.config, type: MachineConfigType, id: ActiveMachineConfigId });
      const cfg = cfgRes ? machineConfigOf(cfgRes).config : undefined;
      const caKey = pem(cfg?.machine?.ca?.key);
      if (!cfg || caKey === '' || trustdFor === api.spec) continue;
      const caCrt = pem(cfg.machine?.ca?.crt);
      const ca = loadCertificateAuthority(caCrt, caKey);
      const key = await generateKey('ecdsa');
      const { notBefore, notAfter, dnsNames, ipAddresses } = sansOf(api.spec);
      const crt = issueCertificate(ca, {
        publicKey: key.publicKey,
        subject: { commonName: 'trustd' },
        notBefore,
        notAfter,
        keyUsage: ['digitalSignature'],
        extKeyUsage: ['serverAuth'],
        dnsNames,
        ipAddresses,
      });
      await mkdir(trustdCertsDir, { recursive: true, mode: 0o700 });
      await put(trustdCertsDir, 'ca.key', caKey);
      await put(trustdCertsDir, 'ca.crt', caCrt);
      await put(trustdCertsDir, 'token', `${cfg.machine?.token ?? ''}\n`);
      await put(trustdCertsDir, 'server.key', privateKeyToPkcs8Pem(key));
      await put(trustdCertsDir, 'server.crt', crt);
      trustdFor = api.spec;
    }
  }

  async #writeEtcd(ctx: ControllerContext): Promise<void> {
    const dir = this.#options.etcdCertsDir;
    if (dir === undefined) return;
    const etcd = ctx.find<EtcdCertificatesSpec>({ namespace: NamespaceName.secrets, type: EtcdCertificatesType, id: EtcdCertificatesId });
    if (!etcd) return;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // Keys before certificates: etcd reloads a pair on each handshake and must find them matching.
    await put(dir, 'ca.crt', etcd.spec.ca);
    for (const name of ['server', 'peer', 'admin'] as const) {
      await put(dir, `${name}.key`, etcd.spec[name].key);
      await put(dir, `${name}.crt`, etcd.spec[name].crt);
    }
  }
}

function sansOf(spec: ApiCertificatesSpec): { notBefore: Date; notAfter: Date; dnsNames: string[]; ipAddresses: string[] } {
  return {
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(spec.notAfter),
    dnsNames: spec.sans.filter((s) => isIP(s) === 0),
    ipAddresses: spec.sans.filter((s) => isIP(s) !== 0),
  };
}
