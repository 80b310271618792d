import { Code, TalosError } from '@talos-ts/cosi';
import { isAllowed, maintenanceMethods, metadataStrings, rolesFromOrganizations, type GrpcMetadata, type Role } from '@talos-ts/machinery';

/** The metadata key apid uses to tell machined who is calling. */
export const roleMetadataKey = 'talos-role';

/** Who a call runs as: roles from apid, or the maintenance principal before a config exists. */
export type Principal = { readonly kind: 'roles'; readonly roles: ReadonlySet<Role> } | { readonly kind: 'maintenance' };

/** Reads the caller's roles from the `talos-role` metadata apid sets. */
export function principalFromMetadata(md: GrpcMetadata): Principal {
  const values = metadataStrings(md, roleMetadataKey).flatMap((v) => v.split(','));
  return { kind: 'roles', roles: rolesFromOrganizations(values.map((v) => v.trim())) };
}

/** Throws PermissionDenied unless the principal may call the method (a gRPC path). */
export function authorize(principal: Principal, method: string): void {
  if (principal.kind === 'maintenance') {
    if (!maintenanceMethods.includes(method)) {
      throw new TalosError(Code.PermissionDenied, `${method} is not available in maintenance mode`);
    }
    return;
  }
  if (principal.roles.size === 0) throw new TalosError(Code.PermissionDenied, `${method}: no roles presented`);
  if (!isAllowed(method, principal.roles)) {
    throw new TalosError(Code.PermissionDenied, `${method}: not allowed for roles ${[...principal.roles].join(', ')}`);
  }
}

/** True when the principal may read sensitive resource types (os:admin only). */
export function canReadSensitive(principal: Principal): boolean {
  return principal.kind === 'roles' && principal.roles.has('os:admin');
}
