import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, createFileRegistry } from '@bufbuild/protobuf';
import type { DescService } from '@bufbuild/protobuf';
import { FieldDescriptorProto_Label, FieldDescriptorProto_Type, FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import { Client, Server, ServerCredentials, credentials, status } from '@grpc/grpc-js';
import { Code, TalosError, hasCode } from '@talos-ts/cosi';
import { createGrpcClient } from './client.ts';
import { createServiceDefinition, createServiceHandlers } from './service.ts';
import type { CallContext } from './service.ts';

// A service with all four streaming kinds, described in code so tests need no generated files.
const file = create(FileDescriptorProtoSchema, {
  name: 'talos/test/echo.proto',
  package: 'talos.test',
  syntax: 'proto3',
  messageType: [
    {
      name: 'Msg',
      field: [
        { name: 'text', jsonName: 'text', number: 1, type: FieldDescriptorProto_Type.STRING, label: FieldDescriptorProto_Label.OPTIONAL },
        { name: 'n', jsonName: 'n', number: 2, type: FieldDescriptorProto_Type.INT32, label: FieldDescriptorProto_Label.OPTIONAL },
      ],
    },
  ],
  service: [
    {
      name: 'Echo',
      method: [
        { name: 'Unary', inputType: '.talos.test.Msg', outputType: '.talos.test.Msg' },
        { name: 'Fan', inputType: '.talos.test.Msg', outputType: '.talos.test.Msg', serverStreaming: true },
        { name: 'Join', inputType: '.talos.test.Msg', outputType: '.talos.test.Msg', clientStreaming: true },
        { name: 'Chat', inputType: '.talos.test.Msg', outputType: '.talos.test.Msg', clientStreaming: true, serverStreaming: true },
      ],
    },
  ],
});
const registry = createFileRegistry(file, () => undefined);
const Echo = registry.getService('talos.test.Echo') as DescService;

interface Msg {
  text: string;
  n: number;
}

// The registry-built service is untyped, so the handlers and client are used through this shape.
interface EchoClient {
  unary(req: Partial<Msg>, opts?: { signal?: AbortSignal }): Promise<Msg>;
  fan(req: Partial<Msg>, opts?: { signal?: AbortSignal }): AsyncIterable<Msg>;
  join(reqs: AsyncIterable<Partial<Msg>>): Promise<Msg>;
  chat(reqs: AsyncIterable<Partial<Msg>>): AsyncIterable<Msg>;
  raw: Client;
  close(): void;
}

async function* items(...texts: string[]): AsyncIterable<Partial<Msg>> {
  for (const text of texts) yield { text };
}

async function startServer(creds = ServerCredentials.createInsecure(), seen: CallContext[] = []) {
  const server = new Server();
  const impl = {
    unary: (req: Msg, ctx: CallContext) => {
      seen.push(ctx);
      if (req.text === 'fail') throw new TalosError(Code.FailedPrecondition, 'asked to fail');
      if (req.text === 'boom') throw new Error('plain error');
      return { text: `echo:${req.text}`, n: req.n + 1 };
    },
    fan: async function* (req: Msg) {
      for (let i = 0; i < req.n; i++) yield { text: req.text, n: i };
      if (req.text === 'fail') throw new TalosError(Code.ResourceExhausted, 'stream failed');
    },
    join: async (reqs: AsyncIterable<Msg>) => {
      const texts: string[] = [];
      for await (const r of reqs) texts.push(r.text);
      return { text: texts.join('+'), n: texts.length };
    },
    chat: async function* (reqs: AsyncIterable<Msg>) {
      for await (const r of reqs) yield { text: r.text.toUpperCase() };
    },
  };
  server.addService(createServiceDefinition(Echo), createServiceHandlers(Echo, impl as never));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', creds, (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, port };
}

test('grpc adapter: unary, server, client and bidi streaming round-trip through protobuf-es', async () => {
  const { server, port } = await startServer();
  const client = createGrpcClient(Echo, `127.0.0.1:${port}`) as unknown as EchoClient;
  try {
    const res = await client.unary({ text: 'hi', n: 41 });
    assert.equal(res.text, 'echo:hi');
    assert.equal(res.n, 42);

    const fanned: number[] = [];
    for await (const m of client.fan({ text: 'x', n: 4 })) fanned.push(m.n);
    assert.deepEqual(fanned, [0, 1, 2, 3]);

    const joined = await client.join(items('a', 'b', 'c'));
    assert.deepEqual([joined.text, joined.n], ['a+b+c', 3]);

    const chatted: string[] = [];
    for await (const m of client.chat(items('p', 'q'))) chatted.push(m.text);
    assert.deepEqual(chatted, ['P', 'Q']);
  } finally {
    client.close();
    server.forceShutdown();
  }
});

test('grpc adapter: handler errors keep their code; plain errors become Unknown', async () => {
  const { server, port } = await startServer();
  const client = createGrpcClient(Echo, `127.0.0.1:${port}`) as unknown as EchoClient;
  try {
    await assert.rejects(client.unary({ text: 'fail' }), (e) => hasCode(e, Code.FailedPrecondition) && e.message === 'asked to fail');
    await assert.rejects(client.unary({ text: 'boom' }), (e) => hasCode(e, Code.Unknown) && e.message === 'plain error');
    const got: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const m of client.fan({ text: 'fail', n: 2 })) got.push(m.n);
      })(),
      (e) => hasCode(e, Code.ResourceExhausted),
    );
    assert.deepEqual(got, [0, 1]);
  } finally {
    client.close();
    server.forceShutdown();
  }
});

test('grpc adapter: malformed request bytes are answered with InvalidArgument', async () => {
  const { server, port } = await startServer();
  const raw = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
  try {
    const err = await new Promise<{ code: number; details: string }>((resolve) => {
      const id = (b: Buffer) => b;
      // Field 1 as a length-delimited string claiming 100 bytes, then nothing.
      raw.makeUnaryRequest('/talos.test.Echo/Unary', id, id, Buffer.from([0x0a, 0x64, 0x01]), (e) => resolve(e as never));
    });
    assert.equal(err.code, status.INVALID_ARGUMENT);
    assert.match(err.details, /malformed talos\.test\.Msg/);
  } finally {
    raw.close();
    server.forceShutdown();
  }
});

test('grpc adapter: aborting the signal cancels a server stream', async () => {
  const { server, port } = await startServer();
  const client = createGrpcClient(Echo, `127.0.0.1:${port}`) as unknown as EchoClient;
  try {
    const ac = new AbortController();
    const got: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const m of client.fan({ text: 'x', n: 1_000_000 }, { signal: ac.signal })) {
          got.push(m.n);
          if (got.length === 3) ac.abort();
        }
      })(),
      (e) => hasCode(e, Code.Canceled),
    );
    assert.ok(got.length >= 3);
  } finally {
    client.close();
    server.forceShutdown();
  }
});

test('grpc adapter: under mTLS the handler sees the client certificate in authContext', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'talos-grpc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ossl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ossl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=test-ca', '-days', '1');
  for (const [name, cn, ext] of [
    ['server', 'localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
    ['client', 'talosctl', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    writeFileSync(join(dir, `${name}.ext`), `${ext}\n`);
    ossl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/O=os:admin/CN=${cn}`);
    ossl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', '-extfile', `${name}.ext`);
  }
  const read = (f: string) => readFileSync(join(dir, f));
  const seen: CallContext[] = [];
  const { server, port } = await startServer(
    ServerCredentials.createSsl(read('ca.crt'), [{ private_key: read('server.key'), cert_chain: read('server.crt') }], true),
    seen,
  );
  const client = createGrpcClient(Echo, `127.0.0.1:${port}`, {
    credentials: credentials.createSsl(read('ca.crt'), read('client.key'), read('client.crt')),
    // Verify the server by name: Node warns when the TLS server name is an IP address.
    channelOptions: { 'grpc.ssl_target_name_override': 'localhost' },
  }) as unknown as EchoClient;
  try {
    await client.unary({ text: 'who' });
    const auth = seen[0]?.authContext;
    assert.equal(auth?.transportSecurityType, 'ssl');
    assert.equal(auth?.sslPeerCertificate?.subject.CN, 'talosctl');
    assert.equal(auth?.sslPeerCertificate?.subject.O, 'os:admin');
  } finally {
    client.close();
    server.forceShutdown();
  }
});
