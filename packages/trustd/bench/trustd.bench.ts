// trustd under a wrong-token flood from one source: its CPU time, the requests it answers and the
// log bytes it writes per second, with the old behaviour (every attempt checked and logged) and
// with the per-source limit and aggregated refusal logs. Prints one JSON object.
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Code, TalosError } from '@talos-ts/cosi';
import { createGrpcClient, createSelfSignedCa, generateKey, issueCertificate, privateKeyToPem, securityPb } from '@talos-ts/machinery';
import { TOKEN_METADATA_KEY } from '../src/index.ts';

const FLOOD_MS = 3000;
const CONNECTIONS = 4;
const STREAMS_PER_CONNECTION = 16;

async function certsDir(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'trustd-bench-'));
  const now = Date.now();
  const ca = createSelfSignedCa({ key: await generateKey('ecdsa'), subject: { organizations: ['talos'] }, notBefore: new Date(now - 60_000), notAfter: new Date(now + 86_400_000) });
  const serverKey = await generateKey('ecdsa');
  const crt = issueCertificate(ca, { publicKey: serverKey.publicKey, subject: { commonName: 'trustd' }, notBefore: new Date(now - 60_000), notAfter: new Date(now + 86_400_000), extKeyUsage: ['serverAuth'], ipAddresses: ['127.0.0.5'] });
  writeFileSync(join(dir, 'ca.crt'), ca.crtPem);
  writeFileSync(join(dir, 'ca.key'), ca.keyPem);
  writeFileSync(join(dir, 'server.crt'), crt);
  writeFileSync(join(dir, 'server.key'), privateKeyToPem(serverKey));
  writeFileSync(join(dir, 'token'), 'abcdef.0123456789abcdef\n');
  return dir;
}

async function flood(dir: string, limits: Record<string, number | null>) {
  const child = fork(new URL('./flood-server.ts', import.meta.url).pathname, [dir, JSON.stringify(limits)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let logBytes = 0;
  let logLines = 0;
  child.stderr?.on('data', (b: Buffer) => {
    logBytes += b.length;
    for (const c of b) if (c === 0x0a) logLines++;
  });
  const next = <T>(key: string): Promise<T> => new Promise((resolve) => {
    const on = (m: Record<string, unknown>): void => {
      if (key in m) {
        child.off('message', on);
        resolve(m[key] as T);
      }
    };
    child.on('message', on);
  });
  const address = await next<string>('address');
  const clients = Array.from({ length: CONNECTIONS }, () => createGrpcClient(securityPb.SecurityService, address, { tls: { insecureSkipVerify: true } }));
  const answers: Record<string, number> = {};
  // One request first so every connection is up before the clock starts.
  const ask = (c: (typeof clients)[number]) =>
    c.certificate({ csr: Buffer.from('not a csr') }, { metadata: { [TOKEN_METADATA_KEY]: 'abcdef.0000000000000000' }, timeoutMs: 10_000 }).then(
      () => 'ok',
      (e: unknown) => Code[e instanceof TalosError ? e.code : Code.Unknown] ?? 'Unknown',
    );
  await Promise.all(clients.map(ask));
  const linesBefore = logLines;
  const bytesBefore = logBytes;
  child.send('usage');
  const cpu0 = await next<NodeJS.CpuUsage>('usage');
  const start = performance.now();
  const deadline = start + FLOOD_MS;
  await Promise.all(
    clients.flatMap((c) =>
      Array.from({ length: STREAMS_PER_CONNECTION }, async () => {
        while (performance.now() < deadline) {
          const a = await ask(c);
          answers[a] = (answers[a] ?? 0) + 1;
        }
      }),
    ),
  );
  const seconds = (performance.now() - start) / 1000;
  child.send('usage');
  const cpu1 = await next<NodeJS.CpuUsage>('usage');
  // Let the last log lines through the pipe.
  await new Promise((r) => setTimeout(r, 200));
  for (const c of clients) c.close();
  child.send('stop');
  await new Promise((r) => child.once('exit', r));
  const requests = Object.values(answers).reduce((a, b) => a + b, 0);
  const cpuMs = (cpu1.user - cpu0.user + cpu1.system - cpu0.system) / 1000;
  return {
    requests,
    requestsPerSecond: Math.round(requests / seconds),
    answers,
    trustdCpuPercent: Math.round((cpuMs / 1000 / seconds) * 100),
    trustdCpuUsPerRequest: Math.round((cpuMs * 1000) / requests),
    logLinesPerSecond: Math.round((logLines - linesBefore) / seconds),
    logBytesPerSecond: Math.round((logBytes - bytesBefore) / seconds),
    logBytesPerRequest: Math.round((logBytes - bytesBefore) / requests),
  };
}

const dir = await certsDir();
try {
  // Unlimited burst and a log line per refusal: what trustd did before the limiter.
  const unlimited = await flood(dir, { burst: null, logIntervalMs: 0, logBurst: null });
  const limited = await flood(dir, {});
  console.log(JSON.stringify({ bench: 'trustd-wrong-token-flood', floodMs: FLOOD_MS, connections: CONNECTIONS, streamsPerConnection: STREAMS_PER_CONNECTION, unlimited, limited }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
