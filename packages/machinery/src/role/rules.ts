import { Roles, type Role } from './role.ts';

const { admin: A, operator: O, reader: R, etcdBackup: E } = Roles;

const read = [A, O, R] as const;
const operate = [A, O] as const;
const adminOnly = [A] as const;

/**
 * Which roles may call which gRPC method, as upstream Talos authorizes them. Methods not listed
 * fall back to admin only. cosi.resource.State reads are further narrowed per resource type:
 * sensitive types are admin-only.
 */
export const methodRoles: Readonly<Record<string, readonly Role[]>> = {
  '/cluster.ClusterService/HealthCheck': read,
  '/inspect.InspectService/ControllerRuntimeDependencies': read,

  '/machine.MachineService/ApplyConfiguration': adminOnly,
  '/machine.MachineService/Bootstrap': adminOnly,
  '/machine.MachineService/CPUInfo': read,
  '/machine.MachineService/Containers': read,
  '/machine.MachineService/Copy': adminOnly,
  '/machine.MachineService/DiskStats': read,
  '/machine.MachineService/DiskUsage': read,
  '/machine.MachineService/Dmesg': read,
  '/machine.MachineService/EtcdAlarmList': [A, O, R, E],
  '/machine.MachineService/EtcdAlarmDisarm': operate,
  '/machine.MachineService/EtcdDefragment': operate,
  '/machine.MachineService/EtcdForfeitLeadership': adminOnly,
  '/machine.MachineService/EtcdLeaveCluster': adminOnly,
  '/machine.MachineService/EtcdMemberList': [A, O, R, E],
  '/machine.MachineService/EtcdRecover': adminOnly,
  '/machine.MachineService/EtcdRemoveMemberByID': adminOnly,
  '/machine.MachineService/EtcdSnapshot': [A, O, E],
  '/machine.MachineService/EtcdStatus': [A, O, R, E],
  '/machine.MachineService/Events': read,
  '/machine.MachineService/GenerateClientConfiguration': adminOnly,
  '/machine.MachineService/GenerateConfiguration': adminOnly,
  '/machine.MachineService/Hostname': read,
  '/machine.MachineService/ImageList': read,
  '/machine.MachineService/Kubeconfig': adminOnly,
  '/machine.MachineService/List': read,
  '/machine.MachineService/LoadAvg': read,
  '/machine.MachineService/Logs': read,
  '/machine.MachineService/Memory': read,
  // Upstream also lets its os:meta:writer role call these; that role does not exist here yet.
  '/machine.MachineService/MetaDelete': adminOnly,
  '/machine.MachineService/MetaWrite': adminOnly,
  '/machine.MachineService/Mounts': read,
  '/machine.MachineService/NetworkDeviceStats': read,
  '/machine.MachineService/Netstat': read,
  '/machine.MachineService/Processes': read,
  '/machine.MachineService/Read': adminOnly,
  '/machine.MachineService/Reboot': operate,
  '/machine.MachineService/Reset': adminOnly,
  '/machine.MachineService/Restart': operate,
  '/machine.MachineService/Rollback': adminOnly,
  '/machine.MachineService/ServiceList': read,
  '/machine.MachineService/ServiceRestart': operate,
  '/machine.MachineService/ServiceStart': operate,
  '/machine.MachineService/ServiceStop': operate,
  '/machine.MachineService/Shutdown': operate,
  '/machine.MachineService/Stats': read,
  '/machine.MachineService/SystemStat': read,
  '/machine.MachineService/Upgrade': adminOnly,
  '/machine.MachineService/Version': read,

  '/cosi.resource.State/Create': adminOnly,
  '/cosi.resource.State/Destroy': adminOnly,
  '/cosi.resource.State/Get': read,
  '/cosi.resource.State/List': read,
  '/cosi.resource.State/Update': adminOnly,
  '/cosi.resource.State/Watch': read,

  '/time.TimeService/Time': read,
  '/time.TimeService/TimeCheck': read,
};

/** Roles allowed to call a method (admin only for methods not in the table). */
export function rolesForMethod(method: string): readonly Role[] {
  return methodRoles[method] ?? adminOnly;
}

/** True when any of the caller's roles may call the method. */
export function isAllowed(method: string, roles: ReadonlySet<Role>): boolean {
  return rolesForMethod(method).some((r) => roles.has(r));
}

/**
 * Methods a node in maintenance mode serves to anyone (no client certificate there): enough to
 * configure it and see what it is.
 */
export const maintenanceMethods: readonly string[] = [
  '/machine.MachineService/ApplyConfiguration',
  '/machine.MachineService/Version',
  '/cosi.resource.State/Get',
  '/cosi.resource.State/List',
  '/cosi.resource.State/Watch',
];
