import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../../main.ts';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t) }, out, err };
}

test('talosctl meta write refuses a key past one byte with Go\'s ParseUint wording, before any connection', async () => {
  const c = capture();
  assert.notEqual(await main(['meta', 'write', '0x100', 'x', '-e', '127.0.34.250', '-n', '127.0.34.250', '--talosconfig', '/nonexistent'], c.io), 0);
  assert.match(c.err.join(''), /strconv\.ParseUint: parsing "0x100": value out of range/);
});

test('talosctl meta delete takes exactly one key', async () => {
  const c = capture();
  assert.notEqual(await main(['meta', 'delete'], c.io), 0);
  assert.match(c.err.join(''), /missing required argument 'key'|accepts 1 arg/);
});
