/** Facts of the container platform: machined as an ordinary process, no kernel or disk work. */
export const containerPlatform = { name: 'container', mode: 'container' } as const;

/** The hostname a container node has before its config names one. */
export function defaultHostname(address: string): string {
  return `talos-${address.replace(/[.:]/g, '-')}`;
}
