import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, hasCode } from '@talos-ts/cosi';
import { ntpExchange, parseNtpServer } from './ntp-exchange.ts';

const packet = Buffer.alloc(48);

test('a server name that does not resolve fails the query (Unavailable) instead of crashing the process', async () => {
  await assert.rejects(
    ntpExchange('no-such-ntp-server.invalid', packet, { timeoutMs: 10_000, signal: AbortSignal.timeout(20_000) }),
    (err: unknown) => hasCode(err, Code.Unavailable) && /no-such-ntp-server\.invalid/.test((err as Error).message),
  );
});

test('a server with a port out of range is InvalidArgument', async () => {
  for (const server of ['127.0.0.1:0', '127.0.0.1:65536']) {
    await assert.rejects(ntpExchange(server, packet, { timeoutMs: 1000, signal: AbortSignal.timeout(5000) }), (err: unknown) => hasCode(err, Code.InvalidArgument), server);
  }
});

test('server strings: host, host:port, [v6], [v6]:port and bare v6 (port 123 by default)', () => {
  assert.deepEqual(parseNtpServer('time.cloudflare.com'), { host: 'time.cloudflare.com', port: 123 });
  assert.deepEqual(parseNtpServer('10.0.0.1:1123'), { host: '10.0.0.1', port: 1123 });
  assert.deepEqual(parseNtpServer('[fd00::1]'), { host: 'fd00::1', port: 123 });
  assert.deepEqual(parseNtpServer('[fd00::1]:124'), { host: 'fd00::1', port: 124 });
  assert.deepEqual(parseNtpServer('fd00::1'), { host: 'fd00::1', port: 123 });
});
