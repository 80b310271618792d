import { execFileSync } from 'node:child_process';

/** Whether `program` is on PATH (tests skip, naming the package to install, when it is not). */
export function onPath(program: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
