import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, createFileRegistry } from '@bufbuild/protobuf';
import type { DescService } from '@bufbuild/protobuf';
import { FieldDescriptorProto_Label, FieldDescriptorProto_Type, FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import { Code, TalosError, hasCode } from '@talos-ts/cosi';
import { createGrpcClient } from './client.ts';
import { createH2Channel } from './h2/channel.ts';
import { createH2Server, type H2ServerTls } from './h2/server.ts';
import { registerService } from './service.ts';
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
  close(): void;
}

async function* items(...texts: string[]): AsyncIterable<Partial<Msg>> {
  for (const text of texts) yield { text };
}

async function startServer(tls?: H2ServerTls, seen: CallContext[] = []) {
  const server = createH2Server(tls ? { tls } : {});
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
  registerService(server, Echo, impl as never);
  const address = await server.listen('127.0.0.1:0');
  return { server, port: Number(address.slice(address.lastIndexOf(':') + 1)) };
}

test('grpc adapter: unary, server, client and bidi streaming round-trip through protobuf-es', async () => {
  const { server, port } = await startServer();
  const client = createGrpcClient(Echo, `127.0.0.1:${port}`, { plaintext: true }) as unknown as EchoClient;
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
    await server.close(0);
  }
});

test('grpc adapter: handler errors keep their code; plain errors become Unknown', async () => {
  const { server, port } = await startServer();
  const client = createGrpcClient(Echo, `127.0.0.1:${port}`, { plaintext: true }) as unknown as EchoClient;
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
    await server.close(0);
  }
});

test('grpc adapter: malformed request bytes are answered with InvalidArgument', async () => {
  const { server, port } = await startServer();
  const raw = createH2Channel(`127.0.0.1:${port}`, { plaintext: true });
  try {
    // Field 1 as a length-delimited string claiming 100 bytes, then nothing.
    await assert.rejects(raw.unary('/talos.test.Echo/Unary', Buffer.from([0x0a, 0x64, 0x01])), (e) => hasCode(e, Code.InvalidArgument) && /malformed talos\.test\.Msg/.test((e as Error).message));
  } finally {
    raw.close();
    await server.close(0);
  }
});

test('grpc adapter: aborting the signal cancels a server stream', async () => {
  const { server, port } = await startServer();
  const client = createGrpcClient(Echo, `127.0.0.1:${port}`, { plaintext: true }) as unknown as EchoClient;
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
    await server.close(0);
  }
});

test('grpc adapter: under mTLS the handler sees the client certificate', async (t) => {
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
    { caPem: read('ca.crt'), certPem: read('server.crt'), keyPem: read('server.key'), requireClientCert: true },
    seen,
  );
  const client = createGrpcClient(Echo, `127.0.0.1:${port}`, {
    tls: { caPem: read('ca.crt'), certPem: read('client.crt'), keyPem: read('client.key') },
  }) as unknown as EchoClient;
  try {
    await client.unary({ text: 'who' });
    const cert = seen[0]?.peerCertificate;
    assert.equal(cert?.subject.CN, 'talosctl');
    assert.equal(cert?.subject.O, 'os:admin');
  } finally {
    client.close();
    await server.close(0);
  }
});
