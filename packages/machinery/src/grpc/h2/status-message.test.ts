// The grpc-message a server sends stays deliverable however long the error text is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Code, TalosError } from '@talos-ts/cosi';
import { createH2Channel } from './channel.ts';
import { createH2Server } from './server.ts';
import { MAX_GRPC_MESSAGE_CHARS, decodeGrpcMessage, encodeGrpcMessage } from './wire.ts';

test('grpc-message: an overlong message is cut at a character boundary with its size as marker', () => {
  for (const unit of ['x', 'é', '✓', '𝄞', '%']) {
    const message = `field: invalid value "${unit.repeat(100 * 1024)}"`;
    const enc = encodeGrpcMessage(message);
    assert.ok(enc.length <= MAX_GRPC_MESSAGE_CHARS, `${unit}: ${enc.length}`);
    assert.match(enc, /^[\x20-\x7e]*$/);
    const dec = decodeGrpcMessage(enc);
    const marker = `…(${Buffer.byteLength(message)} bytes)`;
    assert.ok(dec.endsWith(marker), dec.slice(-40));
    assert.ok(message.startsWith(dec.slice(0, -marker.length)), `${unit}: the kept part is a prefix of the message`);
    assert.ok(dec.length > MAX_GRPC_MESSAGE_CHARS / 16, `${unit}: a useful part is kept`);
  }
  // Messages that fit are sent whole.
  const fits = 'y'.repeat(MAX_GRPC_MESSAGE_CHARS);
  assert.equal(encodeGrpcMessage(fits), fits);
  assert.equal(decodeGrpcMessage(encodeGrpcMessage('✓'.repeat(100))), '✓'.repeat(100));
});

test('h2 server: a 100 KB error message reaches the client as a cut status, trailers-only or after messages', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'h2-status-'));
  const server = createH2Server({});
  const huge = `config:3:5: machine.network.hostname: invalid hostname "${'h'.repeat(100 * 1024)}"`;
  server.register('/t.T/Early', 'unary', () => {
    throw new TalosError(Code.InvalidArgument, huge);
  });
  server.register('/t.T/Late', 'server_streaming', (call) => {
    call.write(Buffer.from('first'));
    call.fail(new TalosError(Code.InvalidArgument, huge));
  });
  const address = await server.listen(`unix:${join(dir, 's.sock')}`);
  const channel = createH2Channel(address);
  t.after(async () => {
    channel.close();
    await server.close(0);
    rmSync(dir, { recursive: true, force: true });
  });
  for (const path of ['/t.T/Early', '/t.T/Late']) {
    const status = await new Promise<{ code: number; message: string }>((resolve) => {
      const call = channel.start(path, { onStatus: (s) => resolve({ code: s.code, message: s.message }) }, { timeoutMs: 5000 });
      call.write(Buffer.from('go'));
      call.end();
    });
    assert.equal(status.code, Code.InvalidArgument, `${path}: ${status.message.slice(0, 200)}`);
    assert.match(status.message, /^config:3:5: machine\.network\.hostname: invalid hostname "h+…\(102\d\d\d bytes\)$/, path);
  }
});
