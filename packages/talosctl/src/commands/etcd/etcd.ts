import type { Command } from 'commander';
import { CliError } from '../../cli.ts';

/** The `etcd` group, created on first use so each verb registers on its own. */
export function etcdGroup(parent: Command): Command {
  return parent.commands.find((c) => c.name() === 'etcd') ?? parent.command('etcd').description('Manage etcd');
}

/** An etcd member id as upstream prints it: 16 lowercase hex digits. */
export function memberId(id: bigint): string {
  return id.toString(16).padStart(16, '0');
}

/** Parses a member id given in hex (as `etcd members` prints it). */
export function parseMemberId(text: string): bigint {
  if (!/^(0x)?[0-9a-fA-F]{1,16}$/.test(text)) throw new CliError(`failed to parse member ID "${text}": expected up to 16 hex digits`);
  return BigInt(text.startsWith('0x') ? text : `0x${text}`);
}

/** Byte counts as go-humanize's Bytes prints them (SI units: "8.2 kB", "20 MB"). */
export function humanBytes(n: number): string {
  if (n < 10) return `${n} B`;
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  const e = Math.min(Math.floor(Math.log(n) / Math.log(1000)), units.length - 1);
  const v = Math.floor((n / 1000 ** e) * 10 + 0.5) / 10;
  return `${v < 10 ? v.toFixed(1) : String(roundHalfEven(v))} ${units[e]}`;
}

// Go's %.0f rounds halves to even (20.5 → "20"); toFixed would round up.
function roundHalfEven(v: number): number {
  const r = Math.floor(v);
  const diff = v - r;
  if (diff > 0.5) return r + 1;
  if (diff < 0.5) return r;
  return r % 2 === 0 ? r : r + 1;
}

/** Fails unless exactly one node is targeted (upstream's FailIfMultiNodes). */
export function requireOneNode(nodes: readonly string[], what: string): void {
  if (nodes.length > 1) throw new CliError(`command "${what}" is not supported with multiple nodes`);
}
