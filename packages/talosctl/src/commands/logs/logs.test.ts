import { test } from 'node:test';
import assert from 'node:assert/strict';
import { machinePb, testService } from '@talos-ts/machinery';
import { main } from '../../main.ts';
import { fakeNode } from '../../testing/fake-node.ts';

test('talosctl logs -f: the node going away mid-stream ends the command with an error naming the node, no hang', { timeout: 30_000 }, async () => {
  let streaming!: () => void;
  const started = new Promise<void>((r) => (streaming = r));
  await using n = await fakeNode([
    testService(machinePb.MachineService, {
      async *logs(_req, ctx) {
        yield { bytes: Buffer.from('first line\n') };
        // then follow forever, as a live service's log does, until the connection goes
        await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
      },
    }),
  ]);
  const out: string[] = [];
  const err: string[] = [];
  const run = main(['--talosconfig', n.talosconfig, 'logs', '-f', 'apid'], {
    out: (t) => {
      out.push(t);
      streaming();
    },
    err: (t) => void err.push(t),
  });
  await started;
  await n.server[Symbol.asyncDispose]();
  const code = await run;
  assert.equal(out.join(''), '10.5.0.2: first line\n');
  assert.equal(code, 1);
  assert.match(err.join(''), /^error: 10\.5\.0\.2: .+/);
});
