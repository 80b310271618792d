import { execFileSync } from 'node:child_process';

/** The network namespaces a cluster named `name` owns (`talos-NAME` and `talos-NAME-*`), sorted. */
export function clusterNamespaces(name: string): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n === `talos-${name}` || n.startsWith(`talos-${name}-`))
    .sort();
}
