// Run by native.test.ts inside fresh mount/UTS/net/PID namespaces (unshare) as PID 1: exercises the
// addon's system calls and prints one JSON object with what it saw.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ownChildren } from '../children.ts';
import { reapOrphans } from '../metal.ts';
import { MountFlags, native } from '../native.ts';
import { linkIndex, RouteSocket } from '../netlink.ts';

const out: Record<string, unknown> = { pid: process.pid };
const n = native();

const dir = mkdtempSync(join(tmpdir(), 'ns-probe-'));
n.mount('tmpfs', dir, 'tmpfs', MountFlags.NOSUID, 'size=1m');
writeFileSync(join(dir, 'x'), 'y');
out.mountLine = readFileSync('/proc/self/mounts', 'utf8').split('\n').find((l) => l.split(' ')[1] === dir) ?? null;
n.mount(null as unknown as string, dir, null, MountFlags.REMOUNT | MountFlags.RDONLY | MountFlags.BIND);
try {
  writeFileSync(join(dir, 'z'), 'z');
  out.readOnlyWrite = 'allowed';
} catch (err) {
  out.readOnlyWrite = (err as NodeJS.ErrnoException).code;
}
n.umount2(dir, 0);
out.afterUmount = readFileSync('/proc/self/mounts', 'utf8').includes(dir);
try {
  n.umount2(dir, 0);
} catch (err) {
  out.umountError = (err as NodeJS.ErrnoException).code;
}

n.sethostname('talos-probe');
out.hostname = hostname();

{
  using nl = new RouteSocket();
  const lo = linkIndex('lo');
  nl.linkUp(lo);
  nl.addAddress(lo, '10.77.0.1', 32);
}
out.loAddresses = execFileSync('ip', ['-o', '-4', 'addr', 'show', 'lo'], { encoding: 'utf8' });
out.loOperstate = readFileSync('/sys/class/net/lo/flags', 'utf8').trim();

// An orphan: our child starts a grandchild and exits; the grandchild ends up a zombie of PID 1.
const child = spawn(process.execPath, ['-e', "require('child_process').spawn(process.execPath, ['-e', 'setTimeout(() => {}, 200)'], { detached: true, stdio: 'ignore' }).unref()"], { stdio: 'ignore' });
if (child.pid) ownChildren.add(child.pid);
out.childExit = await new Promise((r) => child.once('exit', (code) => r(code)));
// Our own second child exits with 7 while the reaper runs; Node must still see its status.
const own = spawn(process.execPath, ['-e', 'setTimeout(() => process.exit(7), 400)'], { stdio: 'ignore' });
if (own.pid) ownChildren.add(own.pid);
const ownExit = new Promise((r) => own.once('exit', (code) => r(code)));
let reaped = 0;
for (let i = 0; i < 40 && reaped === 0; i++) {
  await new Promise((r) => setTimeout(r, 50));
  reaped += reapOrphans();
}
out.reaped = reaped;
out.ownExit = await ownExit;
try {
  n.finitModule('/nonexistent.ko', '');
} catch (err) {
  out.finitError = (err as NodeJS.ErrnoException).code;
}
process.stdout.write(`${JSON.stringify(out)}\n`);
