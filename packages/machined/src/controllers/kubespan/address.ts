import { createHash } from 'node:crypto';
import { bytesToIp } from '@talos-ts/machinery';
import { TalosError, Code } from '@talos-ts/cosi';

/** Talos's ULA purpose byte for KubeSpan (upstream's ULAKubeSpan); SideroLink uses 0x03. */
export const ULA_KUBESPAN = 0x02;

/**
 * The cluster's KubeSpan /64: an RFC 4193 unique local prefix whose 40-bit global id is taken from
 * the tail of SHA-256(cluster id), with the purpose byte in the subnet id, so every node of a
 * cluster derives the same prefix without talking to the others.
 */
export function kubeSpanSubnet(clusterId: string): string {
  return `${bytesToIp(subnetBytes(clusterId))}/64`;
}

function subnetBytes(clusterId: string): Buffer {
  const hash = createHash('sha256').update(clusterId).digest();
  const prefix = Buffer.alloc(16);
  hash.copy(prefix, 0, 16, 24);
  prefix[0] = 0xfd;
  prefix[7] = ULA_KUBESPAN;
  return prefix;
}

/** Bytes of a MAC written as `aa:bb:cc:dd:ee:ff` (or with `-`); undefined when it is not 6 or 8 bytes of hex. */
export function parseMac(mac: string): Buffer | undefined {
  const parts = mac.split(/[:-]/);
  if ((parts.length !== 6 && parts.length !== 8) || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) return undefined;
  return Buffer.from(parts.map((p) => parseInt(p, 16)));
}

/**
 * The node's KubeSpan address (a /128): the modified EUI-64 interface id of its first MAC inside
 * the cluster's KubeSpan /64 (RFC 4291 appendix A: ff:fe in the middle of a 48-bit MAC, the
 * universal/local bit flipped), so the address is stable for the hardware.
 */
export function kubeSpanAddress(clusterId: string, mac: string): { address: string; subnet: string } {
  const bytes = parseMac(mac);
  if (!bytes) throw new TalosError(Code.InvalidArgument, `cannot derive a KubeSpan address from MAC ${JSON.stringify(mac)}`);
  const ip = subnetBytes(clusterId);
  const iid = bytes.length === 8 ? Buffer.from(bytes) : Buffer.from([bytes[0]!, bytes[1]!, bytes[2]!, 0xff, 0xfe, bytes[3]!, bytes[4]!, bytes[5]!]);
  iid[0] = iid[0]! ^ 0x02;
  iid.copy(ip, 8);
  return { address: `${bytesToIp(ip)}/128`, subnet: kubeSpanSubnet(clusterId) };
}
