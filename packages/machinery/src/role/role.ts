/** A Talos API role, carried in the client certificate's Organization field. */
export type Role = 'os:admin' | 'os:operator' | 'os:reader' | 'os:etcd:backup' | 'os:impersonator';

/** Every role, strongest first. */
export const allRoles: readonly Role[] = ['os:admin', 'os:operator', 'os:reader', 'os:etcd:backup', 'os:impersonator'];

/** The role names as upstream spells them. */
export const Roles = {
  admin: 'os:admin',
  operator: 'os:operator',
  reader: 'os:reader',
  etcdBackup: 'os:etcd:backup',
  impersonator: 'os:impersonator',
} as const satisfies Record<string, Role>;

/** True for a recognised role name. */
export function isRole(value: string): value is Role {
  return (allRoles as readonly string[]).includes(value);
}

/**
 * Roles from a certificate's Organization values. Unknown organizations are ignored, so a
 * certificate naming none of ours grants nothing.
 */
export function rolesFromOrganizations(organizations: readonly string[]): Set<Role> {
  const out = new Set<Role>();
  for (const o of organizations) if (isRole(o)) out.add(o);
  return out;
}
