/** PIDs of children machined started itself; the orphan reaper leaves their exit statuses to Node. */
export const ownChildren = new Set<number>();
