import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeProcAddress, parseProcStat, parseSocketTable } from './procfs.ts';

test('procfs: a command with spaces and parentheses does not shift the stat fields', () => {
  const line = '4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 7 0 1000 123456789 300 18446744073709551615';
  const st = parseProcStat(line);
  assert.deepEqual(st, { comm: 'my (odd) cmd', state: 'S', ppid: 1, threads: 7, ticks: 300, vsize: 123456789n, rssPages: 300n });
});

test('procfs: /proc/net addresses decode from host-order words (IPv4 and compressed IPv6)', () => {
  assert.equal(decodeProcAddress('0100007F'), '127.0.0.1');
  assert.equal(decodeProcAddress('00000000000000000000000001000000'), '::1');
  assert.equal(decodeProcAddress('000080FE00000000FF005452FEB5F1FD'), 'fe80::5254:ff:fdf1:b5fe');
});

test('procfs: a /proc/net/tcp row becomes a socket with its state, queues and inode', () => {
  const text = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 5E00007F:C350 00000000:0000 0A 00000002:00000003 00:00000000 00000000     0        0 94533 1 0000000000000000 100 0 0 10 0',
  ].join('\n');
  const [s] = parseSocketTable('tcp', text);
  assert.deepEqual(
    s && { ip: s.localIp, port: s.localPort, remote: `${s.remoteIp}:${s.remotePort}`, state: s.state, tx: s.txQueue, rx: s.rxQueue, inode: s.inode },
    { ip: '127.0.0.94', port: 50000, remote: '0.0.0.0:0', state: 10, tx: 2n, rx: 3n, inode: 94533n },
  );
});
