import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetlinkProtocol } from './netlink-socket.ts';
import { native } from './native.ts';
import { genlGetFamilyMessage, parseGenlFamilyId, sockaddr, wgSetDeviceMessage } from './wireguard.ts';

const b64 = (byte: number) => Buffer.alloc(32, byte).toString('base64');
const rep = (byte: string) => byte.repeat(32);

test('wgSetDeviceMessage: WG_CMD_SET_DEVICE with one peer, byte for byte (laid out by hand from uapi/linux/wireguard.h)', () => {
  const msg = wgSetDeviceMessage(0x1c, 1, {
    ifname: 'kubespan',
    privateKey: b64(1),
    listenPort: 51820,
    firewallMark: 0x20,
    replacePeers: true,
    peers: [{ publicKey: b64(2), presharedKey: b64(3), replaceAllowedIPs: true, endpoint: '10.5.0.3:51820', persistentKeepaliveSeconds: 25, allowedIPs: ['10.5.0.3/32'] }],
  });
  const expected = [
    'f4000000' + '1c00' + '0500' + '01000000' + '00000000', // nlmsghdr: 244 bytes, family 0x1c, REQUEST|ACK, seq 1
    '01010000', // genlmsghdr: SET_DEVICE, version 1
    '0d000200' + '6b7562657370616e00' + '000000', // IFNAME "kubespan\0"
    '24000300' + rep('01'), // PRIVATE_KEY
    '06000600' + '6cca' + '0000', // LISTEN_PORT 51820, host order
    '08000700' + '20000000', // FWMARK 0x20
    '08000500' + '01000000', // FLAGS REPLACE_PEERS
    '94000880', // PEERS (nested)
    '90000080', // one peer
    '24000100' + rep('02'), // PUBLIC_KEY
    '24000200' + rep('03'), // PRESHARED_KEY
    '08000300' + '02000000', // FLAGS REPLACE_ALLOWEDIPS
    '14000400' + '0200' + 'ca6c' + '0a050003' + '0000000000000000', // ENDPOINT sockaddr_in, port big-endian
    '06000500' + '1900' + '0000', // PERSISTENT_KEEPALIVE_INTERVAL 25
    '20000980', // ALLOWEDIPS
    '1c000080', // one allowed IP
    '06000100' + '0200' + '0000', // FAMILY AF_INET
    '08000200' + '0a050003', // IPADDR
    '05000300' + '20' + '000000', // CIDR_MASK 32
  ].join('');
  assert.equal(msg.toString('hex'), expected);
});

test('sockaddr: IPv6 endpoints are sockaddr_in6; malformed ones are InvalidArgument', () => {
  assert.equal(sockaddr('[fd00::3]:51820').toString('hex'), '0a00' + 'ca6c' + '00000000' + 'fd000000000000000000000000000003' + '00000000');
  for (const bad of ['10.5.0.3', '10.5.0.3:0', 'x:1', '[10.5.0.3]:1']) assert.throws(() => sockaddr(bad), /not ip:port/, bad);
  assert.throws(() => wgSetDeviceMessage(1, 1, { privateKey: 'short', peers: [] }), /32 bytes/);
});

test('genlGetFamilyMessage: the controller family answers with an id for nlctrl itself (real kernel)', () => {
  // WireGuard is not loaded on this host, so ask for the controller family: the same request path.
  const fd = native().netlinkOpen(NetlinkProtocol.GENERIC);
  try {
    native().netlinkSend(fd, genlGetFamilyMessage('nlctrl', 7));
    assert.equal(parseGenlFamilyId(native().netlinkRecv(fd)), 0x10);
  } finally {
    native().close(fd);
  }
});
