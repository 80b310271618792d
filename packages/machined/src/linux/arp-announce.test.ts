import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { nativeAddonCandidates, native } from './native.ts';

const root = process.getuid?.() === 0;
const built = nativeAddonCandidates().some((p) => existsSync(p));
const skip = !built ? 'native addon not built (scripts/build-native.sh)' : !root ? 'needs root for network namespaces' : false;

const a = `tvip-arp-a-${process.pid}`;
const b = `tvip-arp-b-${process.pid}`;
const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });

after(() => {
  if (skip) return;
  for (const ns of [a, b]) {
    try {
      ip('netns', 'delete', ns);
    } catch {
      // not made
    }
  }
});

test('arpAnnounce: a gratuitous ARP from one namespace moves the neighbour entry on the other end to the sender MAC', { skip, timeout: 20_000 }, async () => {
  ip('netns', 'add', a);
  ip('netns', 'add', b);
  ip('-n', a, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb', 'netns', b);
  ip('-n', a, 'addr', 'add', '10.28.0.1/24', 'dev', 'va');
  ip('-n', b, 'addr', 'add', '10.28.0.2/24', 'dev', 'vb');
  ip('-n', a, 'link', 'set', 'va', 'up');
  ip('-n', b, 'link', 'set', 'vb', 'up');
  // A stale entry for the shared address pointing elsewhere, as after the previous holder left.
  ip('-n', a, 'neigh', 'add', '10.28.0.9', 'lladdr', '02:00:00:00:00:09', 'dev', 'va', 'nud', 'stale');
  // The kernel ignores updates to an entry younger than locktime (1 s by default).
  await new Promise((r) => setTimeout(r, 1100));
  const senderMac = /link\/ether ([0-9a-f:]{17})/.exec(ip('-n', b, 'link', 'show', 'vb'))?.[1];
  assert.ok(senderMac);
  native().arpAnnounce('vb', '10.28.0.9', `/run/netns/${b}`);
  let seen = '';
  for (let i = 0; i < 50 && seen !== senderMac; i++) {
    seen = /lladdr ([0-9a-f:]{17})/.exec(ip('-n', a, 'neigh', 'show', '10.28.0.9'))?.[1] ?? '';
    if (seen !== senderMac) await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(seen, senderMac);
  assert.throws(() => native().arpAnnounce('nosuchlink', '10.28.0.9', `/run/netns/${b}`), (err: NodeJS.ErrnoException) => err.code === 'ENODEV' || err.code === 'ENXIO');
  assert.throws(() => native().arpAnnounce('vb', 'not-an-ip', `/run/netns/${b}`), (err: NodeJS.ErrnoException) => err.code === 'EINVAL');
});
