// An in-process Talos API server for tests of clients (talosctl) and of code that sits between
// clients and nodes: our h2 gRPC server, real TLS with certificates from our own PKI, and handlers
// the test supplies. Methods a test does not implement answer Unimplemented.

import type { DescService } from '@bufbuild/protobuf';
import { Code, TalosError } from '@talos-ts/cosi';
import { createH2Server } from '../grpc/h2/server.ts';
import { registerService, type CallContext, type ServiceImplementation } from '../grpc/service.ts';
import { generateKey, privateKeyToPem, privateKeyToPkcs8Pem } from '../secrets/keys.ts';
import { createSelfSignedCa, issueCertificate } from '../secrets/x509.ts';
import { generateClientCertificate } from '../secrets/admin.ts';

/** A CA with a server certificate (for the given addresses) and an admin client certificate. */
export interface TestPki {
  readonly caPem: string;
  /** The CA's key, for tests that issue more certificates (e.g. a node answering GenerateClientConfiguration). */
  readonly caKeyPem: string;
  readonly serverCrtPem: string;
  readonly serverKeyPem: string;
  readonly clientCrtPem: string;
  readonly clientKeyPem: string;
}

/** Issues a throwaway OS CA, a server certificate for `ipAddresses` and a client certificate with `roles`. */
export async function issueTestPki(options: { readonly ipAddresses?: readonly string[]; readonly roles?: readonly string[] } = {}): Promise<TestPki> {
  const now = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
  const later = new Date(now.getTime() + 24 * 3600 * 1000);
  const ca = createSelfSignedCa({ key: await generateKey('ed25519'), subject: { organizations: ['talos'] }, notBefore: now, notAfter: later });
  const serverKey = await generateKey('ed25519');
  const serverCrtPem = issueCertificate(ca, {
    publicKey: serverKey.publicKey,
    subject: { commonName: 'talos-test-node' },
    notBefore: now,
    notAfter: later,
    keyUsage: ['digitalSignature'],
    extKeyUsage: ['serverAuth'],
    dnsNames: ['localhost'],
    ipAddresses: [...(options.ipAddresses ?? ['127.0.0.1'])],
  });
  const client = await generateClientCertificate({ osCa: ca, roles: options.roles ?? ['os:admin'], now });
  return { caPem: ca.crtPem, caKeyPem: privateKeyToPem(ca.key), serverCrtPem, serverKeyPem: privateKeyToPkcs8Pem(serverKey), clientCrtPem: client.crt, clientKeyPem: client.key };
}

/** One service and the handlers a test implements for it. */
export interface TestServiceBinding<S extends DescService = DescService> {
  readonly service: S;
  readonly impl: Partial<ServiceImplementation<S>>;
}

/** Binds a service with a partial implementation (type-checked against the service). */
export function testService<S extends DescService>(service: S, impl: Partial<ServiceImplementation<S>>): TestServiceBinding {
  return { service, impl } as unknown as TestServiceBinding;
}

/** Options of {@link startTestApiServer}. */
export interface TestApiServerOptions {
  readonly services: readonly TestServiceBinding[];
  /** Server TLS; without `clientCaPem` no client certificate is asked for (maintenance mode). */
  readonly tls: { readonly crtPem: string; readonly keyPem: string; readonly clientCaPem?: string };
  /** Defaults to 127.0.0.1:0 (a free port). */
  readonly address?: string;
}

/** A running test server. */
export interface TestApiServer {
  /** `127.0.0.1:PORT`. */
  readonly address: string;
  readonly port: number;
  /** Every call's context in arrival order (metadata, peer certificate, method). */
  readonly calls: CallContext[];
  [Symbol.asyncDispose](): Promise<void>;
}

function unimplemented(service: DescService, impl: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...impl };
  for (const m of service.methods) {
    if (out[m.localName] !== undefined) continue;
    const fail = (): never => {
      throw new TalosError(Code.Unimplemented, `method ${m.name} is not implemented by this test server`);
    };
    out[m.localName] =
      m.methodKind === 'server_streaming' || m.methodKind === 'bidi_streaming'
        ? async function* () {
            yield fail();
          }
        : fail;
  }
  return out;
}

/** Starts a gRPC server over TLS with the given services; every call is recorded in `calls`. */
export async function startTestApiServer(options: TestApiServerOptions): Promise<TestApiServer> {
  const server = createH2Server({
    tls: {
      certPem: options.tls.crtPem,
      keyPem: options.tls.keyPem,
      ...(options.tls.clientCaPem === undefined ? {} : { caPem: options.tls.clientCaPem, requireClientCert: true }),
    },
  });
  const calls: CallContext[] = [];
  for (const { service, impl } of options.services) {
    const recorded: Record<string, unknown> = {};
    for (const [name, fn] of Object.entries(unimplemented(service, impl as Record<string, unknown>))) {
      recorded[name] = (input: unknown, ctx: CallContext) => {
        calls.push(ctx);
        return (fn as (i: unknown, c: CallContext) => unknown)(input, ctx);
      };
    }
    registerService(server, service, recorded as never);
  }
  const address = await server.listen(options.address ?? '127.0.0.1:0');
  return {
    address,
    port: Number(address.slice(address.lastIndexOf(':') + 1)),
    calls,
    // Streams a test left open (watch, follow) would hold a graceful shutdown forever.
    [Symbol.asyncDispose]: () => server.close(200),
  };
}
