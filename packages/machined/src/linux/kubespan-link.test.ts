import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Code, hasCode } from '@talos-ts/cosi';
import { WireGuardLink, newWireGuardLinkMessage } from './kubespan-link.ts';
import { parseWgDevicePeers } from './wireguard.ts';

test('newWireGuardLinkMessage: RTM_NEWLINK create-exclusive with IFLA_IFNAME, IFLA_MTU and IFLA_LINKINFO kind wireguard', () => {
  assert.equal(
    newWireGuardLinkMessage('kubespan', 1420, 9).toString('hex'),
    '4c000000' + '1000' + '0506' + '09000000' + '00000000' + // nlmsghdr: 76 bytes, RTM_NEWLINK, REQUEST|ACK|EXCL|CREATE
      '00000000' + '00000000' + '00000000' + '00000000' + // ifinfomsg
      '0d000300' + '6b7562657370616e00' + '000000' + // IFLA_IFNAME
      '08000400' + '8c050000' + // IFLA_MTU 1420
      '14001280' + '0d000100' + '776972656775617264' + '000000', // IFLA_LINKINFO (4 + 16) { IFLA_INFO_KIND "wireguard" }
  );
});

test('parseWgDevicePeers: public key, endpoint, last handshake and counters from a GET_DEVICE answer laid out by hand', () => {
  const key = Buffer.alloc(32, 0xab);
  const hex = [
    '8c000000' + '1c00' + '0200' + '05000000' + '00000000', // nlmsghdr: 140 bytes
    '00010000', // genlmsghdr: GET_DEVICE v1
    '78000880', // WGDEVICE_A_PEERS (4 + 116)
    '74000080', // one peer (4 + 36 + 20 + 20 + 12 + 12 + 12)
    '24000100' + key.toString('hex'), // PUBLIC_KEY
    '14000400' + '0200' + 'ca6c' + '0a050003' + '0000000000000000', // ENDPOINT 10.5.0.3:51820
    '14000600' + '00f1536500000000' + '40420f0000000000', // LAST_HANDSHAKE_TIME 1700000000 s + 1,000,000 ns
    '0c000700' + '0004000000000000', // RX_BYTES 1024
    '0c000800' + '0008000000000000', // TX_BYTES 2048
    '0c000900' + '08000080' + '04000100', // ALLOWEDIPS (ignored here)
  ].join('');
  assert.deepEqual(parseWgDevicePeers([Buffer.from(hex, 'hex')]), [
    { publicKey: key.toString('base64'), endpoint: '10.5.0.3:51820', lastHandshakeMs: 1_700_000_000_001, receiveBytes: 1024, transmitBytes: 2048 },
  ]);
});

test('WireGuardLink: on a kernel without WireGuard there is no link to read, configuring says why, removing is a no-op (netns tks-link-)', async () => {
  const ns = `tks-link-${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    using link = new WireGuardLink({ netnsPath: `/var/run/netns/${ns}` });
    assert.equal(await link.peers(), undefined);
    await assert.rejects(
      link.configure({ privateKey: Buffer.alloc(32, 1).toString('base64'), listenPort: 51820, peers: [] }, { address: 'fd00::1/64', mtu: 1420 }),
      (err) => hasCode(err, Code.FailedPrecondition) && /no WireGuard/.test((err as Error).message),
    );
    await link.remove();
    assert.doesNotMatch(execFileSync('ip', ['-n', ns, 'link', 'show'], { encoding: 'utf8' }), /kubespan/);
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
});
