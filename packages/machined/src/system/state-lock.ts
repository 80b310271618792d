import { closeSync, fstatSync, fsyncSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Code, TalosError } from '@talos-ts/cosi';
import { STATE_LOCK_FILE } from '@talos-ts/machinery';

/** The lock file's name in a state directory (the node contract's). */
export { STATE_LOCK_FILE } from '@talos-ts/machinery';

// State directories locked by this process. A lock file naming our own PID that is not in this set
// is left from an earlier life of the same PID (machined is always PID 1 on metal), so it is stale.
const heldHere = new Set<string>();

/** A held state-directory lock; disposing it releases the lock. */
export interface StateLock extends Disposable {
  readonly path: string;
  release(): void;
}

/**
 * Takes the exclusive lock of a state directory: a lock file created with O_EXCL that holds our
 * PID. A lock whose PID is no longer alive is stale and taken over. A second machined on the same
 * directory gets FailedPrecondition naming the directory and the holder's PID.
 *
 * Why a PID file and not flock(2): the native addon has no flock, and a PID file also tells the
 * operator who holds the directory. The take-over of a dead holder's lock checks the file is still
 * the one it read (same inode) right before removing it; what remains is a window of one stat and
 * one unlink in which two machineds started at the same instant after a crash could both succeed.
 */
export function lockStateDirectory(dir: string): StateLock {
  const path = join(dir, STATE_LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = readHolder(path);
      if (holder === undefined) continue; // Vanished between open and read: try again.
      if (isAlive(holder.pid) && !(holder.pid === process.pid && !heldHere.has(path))) {
        throw new TalosError(Code.FailedPrecondition, `state directory ${dir} is in use by machined PID ${holder.pid} (lock file ${path})`, {
          details: { dir, pid: holder.pid },
        });
      }
      removeIfSame(path, holder.ino);
      continue;
    }
    try {
      writeSync(fd, `${process.pid}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    heldHere.add(path);
    let held = true;
    const release = (): void => {
      if (!held) return;
      held = false;
      heldHere.delete(path);
      // Remove only our own lock: after a take-over by someone else the file is theirs.
      const now = readHolder(path);
      if (now?.pid === process.pid) removeIfSame(path, now.ino);
    };
    return { path, release, [Symbol.dispose]: release };
  }
  throw new TalosError(Code.Aborted, `could not take the lock of state directory ${dir} (${path} keeps changing)`);
}

function readHolder(path: string): { pid: number; ino: number } | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const ino = fstatSync(fd).ino;
    const pid = Number.parseInt(readFileSync(fd, 'utf8').trim(), 10);
    // A torn or empty lock file (crash between create and write) names no one: stale.
    return { pid: Number.isInteger(pid) && pid > 0 ? pid : 0, ino };
  } finally {
    closeSync(fd);
  }
}

function removeIfSame(path: string, ino: number): void {
  try {
    if (statSync(path).ino === ino) unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** True when a process with this PID exists (signal 0 probes without signalling). */
function isAlive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else, which still holds the directory.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
