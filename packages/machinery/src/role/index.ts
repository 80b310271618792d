export { Roles, allRoles, isRole, rolesFromOrganizations } from './role.ts';
export type { Role } from './role.ts';
export { methodRoles, rolesForMethod, isAllowed, maintenanceMethods } from './rules.ts';
