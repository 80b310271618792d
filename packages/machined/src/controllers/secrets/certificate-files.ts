import { lstat, readFile, rm } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { Controller, ControllerContext, Logger } from '@talos-ts/cosi';
import {
  CertFiles,
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
import { ensureOwnedDirectory, writeFileAtomic } from '../../system/atomic-file.ts';
import { machineConfigOf } from '../config/parse.ts';

/** Options of {@link CertificateFilesController}. */
export interface CertificateFilesOptions {
  readonly apiCertsDir: string;
  readonly trustdCertsDir: string;
  /** Where etcd's certificates go (control plane); absent means they are not written. */
  readonly etcdCertsDir?: string;
}

/**
 * Writes a file only when its content differs, atomically, mode 0600. Something other than a
 * regular file at the path (a directory, say) is ours to replace: the directory is the node's.
 */
async function put(dir: string, name: string, content: string, logger: Logger): Promise<boolean> {
  const file = join(dir, name);
  const found = await lstat(file).catch(() => undefined);
  if (found && !found.isFile()) {
    logger.warn('replacing an unexpected entry where a certificate file belongs', { path: file });
    await rm(file, { recursive: true, force: true });
  } else if (found && (await readFile(file, 'utf8')) === content) return false;
  await writeFileAtomic(file, content);
  return true;
}

/** Makes a certificate directory usable, replacing a file (or anything) found in its place, once. */
async function ensureDir(dir: string, logger: Logger): Promise<void> {
  if ((await ensureOwnedDirectory(dir)) === 'replaced') logger.warn('replaced an unexpected entry with the certificate directory', { path: dir });
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
      await ensureDir(apiCertsDir, ctx.logger);
      // Keys before certificates, so a reader that reacts to a new certificate finds its key.
      await put(apiCertsDir, CertFiles.serverKey, api.spec.server.key, ctx.logger);
      await put(apiCertsDir, CertFiles.ca, api.spec.ca, ctx.logger);
      if (api.spec.client) {
        await put(apiCertsDir, CertFiles.clientKey, api.spec.client.key, ctx.logger);
        await put(apiCertsDir, CertFiles.clientCrt, api.spec.client.crt, ctx.logger);
      } else {
        await rm(join(apiCertsDir, CertFiles.clientCrt), { force: true });
        await rm(join(apiCertsDir, CertFiles.clientKey), { force: true });
      }
      await put(apiCertsDir, CertFiles.serverCrt, api.spec.server.crt, ctx.logger);

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
      await ensureDir(trustdCertsDir, ctx.logger);
      await put(trustdCertsDir, CertFiles.caKey, caKey, ctx.logger);
      await put(trustdCertsDir, CertFiles.ca, caCrt, ctx.logger);
      await put(trustdCertsDir, CertFiles.token, `${cfg.machine?.token ?? ''}\n`, ctx.logger);
      await put(trustdCertsDir, CertFiles.serverKey, privateKeyToPkcs8Pem(key), ctx.logger);
      await put(trustdCertsDir, CertFiles.serverCrt, crt, ctx.logger);
      trustdFor = api.spec;
    }
  }

  async #writeEtcd(ctx: ControllerContext): Promise<void> {
    const dir = this.#options.etcdCertsDir;
    if (dir === undefined) return;
    const etcd = ctx.find<EtcdCertificatesSpec>({ namespace: NamespaceName.secrets, type: EtcdCertificatesType, id: EtcdCertificatesId });
    if (!etcd) return;
    await ensureDir(dir, ctx.logger);
    // Keys before certificates: etcd reloads a pair on each handshake and must find them matching.
    await put(dir, CertFiles.ca, etcd.spec.ca, ctx.logger);
    for (const name of ['server', 'peer', 'admin'] as const) {
      await put(dir, `${name}.key`, etcd.spec[name].key, ctx.logger);
      await put(dir, `${name}.crt`, etcd.spec[name].crt, ctx.logger);
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
