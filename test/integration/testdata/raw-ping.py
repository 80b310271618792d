#!/usr/bin/env python3
"""One ping spoken on a raw socket, optionally over an 802.1Q VLAN: for hosts whose kernel has no
8021q and no ping binary.

usage: raw-ping.py <ifname> <vid, 0 = untagged> <source ip> <target ip>; exit 0 when the target answered.
Sends an ARP request, answers ARP for the source address, then an ICMP echo, all tagged with vid.
"""
import os
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_AUXDATA = 8
TP_STATUS_VLAN_VALID = 1 << 4

ifname, vid, src, dst = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
mac = bytes.fromhex(open(f'/sys/class/net/{ifname}/address').read().strip().replace(':', ''))
src_ip, dst_ip = socket.inet_aton(src), socket.inet_aton(dst)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
s.bind((ifname, 0))


def checksum(b: bytes) -> int:
    if len(b) % 2:
        b += b'\0'
    total = sum(struct.unpack(f'!{len(b) // 2}H', b))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def send(dst_mac: bytes, ethertype: int, payload: bytes) -> None:
    tag = struct.pack('!HH', 0x8100, vid) if vid else b''
    s.send(dst_mac + mac + tag + struct.pack('!H', ethertype) + payload)


def arp(op: int, tha: bytes, tpa: bytes) -> bytes:
    return struct.pack('!HHBBH', 1, 0x0800, 6, 4, op) + mac + src_ip + tha + tpa


def receive(deadline: float):
    """Yields (source mac, ethertype, payload) of frames on our VLAN (or untagged for vid 0) until the deadline."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            return
        data, anc, _, _ = s.recvmsg(65535, socket.CMSG_SPACE(20))
        tci = None
        for level, kind, value in anc:
            if level == SOL_PACKET and kind == PACKET_AUXDATA:
                status, _, _, _, _, vlan_tci = struct.unpack('IIIHHH', value[:18])
                if status & TP_STATUS_VLAN_VALID:
                    tci = vlan_tci
        ethertype = struct.unpack('!H', data[12:14])[0]
        body = data[14:]
        if tci is None and ethertype == 0x8100:
            tci, ethertype = struct.unpack('!HH', data[14:18])
            body = data[18:]
        if (tci or 0) & 0xFFF != vid or data[6:12] == mac:
            continue
        yield data[6:12], ethertype, body


def answer_arp(sender: bytes, body: bytes) -> None:
    if len(body) >= 28 and struct.unpack('!H', body[6:8])[0] == 1 and body[24:28] == src_ip:
        send(sender, 0x0806, arp(2, body[8:14], body[14:18]))


deadline = time.monotonic() + 3
send(b'\xff' * 6, 0x0806, arp(1, b'\0' * 6, dst_ip))
peer = None
for sender, ethertype, body in receive(deadline):
    if ethertype != 0x0806:
        continue
    answer_arp(sender, body)
    if struct.unpack('!H', body[6:8])[0] == 2 and body[14:18] == dst_ip:
        peer = body[8:14]
        break
if peer is None:
    sys.exit(1)
ident = os.getpid() & 0xFFFF
icmp = struct.pack('!BBHHH', 8, 0, 0, ident, 1) + b'talos-ts vlan ping'
icmp = icmp[:2] + struct.pack('!H', checksum(icmp)) + icmp[4:]
ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(icmp), ident, 0, 64, 1, 0, src_ip, dst_ip)
ip = ip[:10] + struct.pack('!H', checksum(ip)) + ip[12:]
send(peer, 0x0800, ip + icmp)
for sender, ethertype, body in receive(deadline):
    if ethertype == 0x0806:
        answer_arp(sender, body)
    elif ethertype == 0x0800 and body[9] == 1 and body[12:16] == dst_ip:
        h = (body[0] & 0xF) * 4
        if body[h] == 0 and struct.unpack('!H', body[h + 4:h + 6])[0] == ident:
            sys.exit(0)
sys.exit(1)
