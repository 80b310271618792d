// Pins the wire contract of api/: the method paths, message shapes and field numbers upstream
// Talos tooling relies on. The facts below were looked up in upstream Talos and cosi-project/runtime;
// a change that breaks one of them breaks compatibility with existing clients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorSetSchema,
} from '@bufbuild/protobuf/wkt';
import type { DescriptorProto, EnumDescriptorProto, FileDescriptorProto } from '@bufbuild/protobuf/wkt';

const root = new URL('../..', import.meta.url).pathname;
const apiDir = join(root, 'api');

function protoFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) protoFiles(p, out);
    else if (name.endsWith('.proto')) out.push(relative(apiDir, p));
  }
  return out.sort();
}

interface Method {
  input: string;
  output: string;
  clientStreaming: boolean;
  serverStreaming: boolean;
}

interface Field {
  number: number;
  type: FieldDescriptorProto_Type;
  repeated: boolean;
  typeName: string;
}

interface Compiled {
  files: FileDescriptorProto[];
  methods: Map<string, Method>;
  messages: Map<string, Map<string, Field>>;
  enums: Map<string, Map<string, number>>;
}

function compile(): Compiled {
  const out = mkdtempSync(join(tmpdir(), 'talos-ts-protos-'));
  try {
    const setPath = join(out, 'all.pb');
    const res = spawnSync(
      'protoc',
      ['-I', 'api', '-I', '/usr/include', `--descriptor_set_out=${setPath}`, '--include_imports', ...protoFiles(apiDir).map((f) => join('api', f))],
      { cwd: root, encoding: 'utf8' },
    );
    assert.equal(res.status, 0, `protoc failed: ${res.stderr}`);
    assert.equal(res.stderr, '', 'protoc printed warnings');
    const set = fromBinary(FileDescriptorSetSchema, readFileSync(setPath));
    return index(set.file);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

function index(files: FileDescriptorProto[]): Compiled {
  const methods = new Map<string, Method>();
  const messages = new Map<string, Map<string, Field>>();
  const enums = new Map<string, Map<string, number>>();
  const addEnum = (prefix: string, e: EnumDescriptorProto): void => {
    enums.set(`${prefix}.${e.name}`, new Map(e.value.map((v) => [v.name, v.number])));
  };
  const addMessage = (prefix: string, m: DescriptorProto): void => {
    const full = `${prefix}.${m.name}`;
    const fields = new Map<string, Field>();
    for (const f of m.field) {
      fields.set(f.name, {
        number: f.number,
        type: f.type,
        repeated: f.label === FieldDescriptorProto_Label.REPEATED,
        typeName: f.typeName.replace(/^\./, ''),
      });
    }
    messages.set(full, fields);
    for (const nested of m.nestedType) addMessage(full, nested);
    for (const e of m.enumType) addEnum(full, e);
  };
  for (const file of files) {
    for (const m of file.messageType) addMessage(file.package, m);
    for (const e of file.enumType) addEnum(file.package, e);
    for (const svc of file.service) {
      for (const m of svc.method) {
        methods.set(`/${file.package}.${svc.name}/${m.name}`, {
          input: m.inputType.replace(/^\./, ''),
          output: m.outputType.replace(/^\./, ''),
          clientStreaming: m.clientStreaming,
          serverStreaming: m.serverStreaming,
        });
      }
    }
  }
  return { files, methods, messages, enums };
}

const compiled = compile();

function field(message: string, name: string): Field {
  const fields = compiled.messages.get(message);
  assert.ok(fields, `message ${message} is missing`);
  const f = fields.get(name);
  assert.ok(f, `field ${message}.${name} is missing`);
  return f;
}

const T = FieldDescriptorProto_Type;

// [path, request, response, client streaming, server streaming]
const methodFacts: Array<[string, string, string, boolean, boolean]> = [
  ['/machine.MachineService/ApplyConfiguration', 'machine.ApplyConfigurationRequest', 'machine.ApplyConfigurationResponse', false, false],
  ['/machine.MachineService/Bootstrap', 'machine.BootstrapRequest', 'machine.BootstrapResponse', false, false],
  ['/machine.MachineService/Events', 'machine.EventsRequest', 'machine.Event', false, true],
  ['/machine.MachineService/Hostname', 'google.protobuf.Empty', 'machine.HostnameResponse', false, false],
  ['/machine.MachineService/Logs', 'machine.LogsRequest', 'common.Data', false, true],
  ['/machine.MachineService/Memory', 'google.protobuf.Empty', 'machine.MemoryResponse', false, false],
  ['/machine.MachineService/Mounts', 'google.protobuf.Empty', 'machine.MountsResponse', false, false],
  ['/machine.MachineService/Dmesg', 'machine.DmesgRequest', 'common.Data', false, true],
  ['/machine.MachineService/Reboot', 'machine.RebootRequest', 'machine.RebootResponse', false, false],
  ['/machine.MachineService/Reset', 'machine.ResetRequest', 'machine.ResetResponse', false, false],
  ['/machine.MachineService/Shutdown', 'machine.ShutdownRequest', 'machine.ShutdownResponse', false, false],
  ['/machine.MachineService/ServiceList', 'google.protobuf.Empty', 'machine.ServiceListResponse', false, false],
  ['/machine.MachineService/ServiceStart', 'machine.ServiceStartRequest', 'machine.ServiceStartResponse', false, false],
  ['/machine.MachineService/ServiceStop', 'machine.ServiceStopRequest', 'machine.ServiceStopResponse', false, false],
  ['/machine.MachineService/ServiceRestart', 'machine.ServiceRestartRequest', 'machine.ServiceRestartResponse', false, false],
  ['/machine.MachineService/Version', 'google.protobuf.Empty', 'machine.VersionResponse', false, false],
  ['/machine.MachineService/GenerateClientConfiguration', 'machine.GenerateClientConfigurationRequest', 'machine.GenerateClientConfigurationResponse', false, false],
  ['/machine.MachineService/EtcdMemberList', 'machine.EtcdMemberListRequest', 'machine.EtcdMemberListResponse', false, false],
  ['/machine.MachineService/EtcdRemoveMemberByID', 'machine.EtcdRemoveMemberByIDRequest', 'machine.EtcdRemoveMemberByIDResponse', false, false],
  ['/machine.MachineService/EtcdLeaveCluster', 'machine.EtcdLeaveClusterRequest', 'machine.EtcdLeaveClusterResponse', false, false],
  ['/machine.MachineService/EtcdForfeitLeadership', 'machine.EtcdForfeitLeadershipRequest', 'machine.EtcdForfeitLeadershipResponse', false, false],
  ['/machine.MachineService/EtcdSnapshot', 'machine.EtcdSnapshotRequest', 'common.Data', false, true],
  ['/machine.MachineService/EtcdRecover', 'common.Data', 'machine.EtcdRecoverResponse', true, false],
  ['/machine.MachineService/EtcdStatus', 'google.protobuf.Empty', 'machine.EtcdStatusResponse', false, false],
  ['/machine.MachineService/List', 'machine.ListRequest', 'machine.FileInfo', false, true],
  ['/machine.MachineService/Read', 'machine.ReadRequest', 'common.Data', false, true],
  ['/machine.MachineService/Copy', 'machine.CopyRequest', 'common.Data', false, true],
  ['/machine.MachineService/DiskUsage', 'machine.DiskUsageRequest', 'machine.DiskUsageInfo', false, true],
  ['/machine.MachineService/Processes', 'google.protobuf.Empty', 'machine.ProcessesResponse', false, false],
  ['/machine.MachineService/Netstat', 'machine.NetstatRequest', 'machine.NetstatResponse', false, false],
  ['/machine.MachineService/Containers', 'machine.ContainersRequest', 'machine.ContainersResponse', false, false],
  ['/machine.MachineService/Stats', 'machine.StatsRequest', 'machine.StatsResponse', false, false],
  ['/machine.MachineService/Restart', 'machine.RestartRequest', 'machine.RestartResponse', false, false],
  ['/machine.MachineService/EtcdAlarmList', 'google.protobuf.Empty', 'machine.EtcdAlarmListResponse', false, false],
  ['/machine.MachineService/EtcdAlarmDisarm', 'google.protobuf.Empty', 'machine.EtcdAlarmDisarmResponse', false, false],
  ['/machine.MachineService/EtcdDefragment', 'google.protobuf.Empty', 'machine.EtcdDefragmentResponse', false, false],
  ['/machine.MachineService/SystemStat', 'google.protobuf.Empty', 'machine.SystemStatResponse', false, false],
  ['/machine.MachineService/LoadAvg', 'google.protobuf.Empty', 'machine.LoadAvgResponse', false, false],
  ['/machine.MachineService/CPUInfo', 'google.protobuf.Empty', 'machine.CPUInfoResponse', false, false],
  ['/cosi.resource.State/Get', 'cosi.resource.GetRequest', 'cosi.resource.GetResponse', false, false],
  ['/cosi.resource.State/List', 'cosi.resource.ListRequest', 'cosi.resource.ListResponse', false, true],
  ['/cosi.resource.State/Create', 'cosi.resource.CreateRequest', 'cosi.resource.CreateResponse', false, false],
  ['/cosi.resource.State/Update', 'cosi.resource.UpdateRequest', 'cosi.resource.UpdateResponse', false, false],
  ['/cosi.resource.State/Destroy', 'cosi.resource.DestroyRequest', 'cosi.resource.DestroyResponse', false, false],
  ['/cosi.resource.State/Watch', 'cosi.resource.WatchRequest', 'cosi.resource.WatchResponse', false, true],
  ['/inspect.InspectService/ControllerRuntimeDependencies', 'google.protobuf.Empty', 'inspect.ControllerRuntimeDependenciesResponse', false, false],
  ['/securityapi.SecurityService/Certificate', 'securityapi.CertificateRequest', 'securityapi.CertificateResponse', false, false],
  ['/time.TimeService/Time', 'google.protobuf.Empty', 'time.TimeResponse', false, false],
  ['/time.TimeService/TimeCheck', 'time.TimeRequest', 'time.TimeResponse', false, false],
];

// [message, field, number, type, repeated, type name (messages/enums only)]
const fieldFacts: Array<[string, string, number, FieldDescriptorProto_Type, boolean, string]> = [
  ['common.Metadata', 'hostname', 1, T.STRING, false, ''],
  ['common.Metadata', 'error', 2, T.STRING, false, ''],
  ['common.Metadata', 'status', 3, T.MESSAGE, false, 'google.rpc.Status'],
  ['google.rpc.Status', 'code', 1, T.INT32, false, ''],
  ['google.rpc.Status', 'message', 2, T.STRING, false, ''],
  ['google.rpc.Status', 'details', 3, T.MESSAGE, true, 'google.protobuf.Any'],
  ['common.Data', 'bytes', 2, T.BYTES, false, ''],
  ['common.NetIPPrefix', 'prefix_length', 2, T.INT32, false, ''],
  ['machine.ApplyConfigurationRequest', 'data', 1, T.BYTES, false, ''],
  ['machine.ApplyConfigurationRequest', 'mode', 4, T.ENUM, false, 'machine.ApplyConfigurationRequest.Mode'],
  ['machine.ApplyConfigurationRequest', 'dry_run', 5, T.BOOL, false, ''],
  ['machine.ApplyConfigurationRequest', 'try_mode_timeout', 6, T.MESSAGE, false, 'google.protobuf.Duration'],
  ['machine.ApplyConfiguration', 'mode_details', 4, T.STRING, false, ''],
  ['machine.Event', 'data', 2, T.MESSAGE, false, 'google.protobuf.Any'],
  ['machine.Event', 'actor_id', 4, T.STRING, false, ''],
  ['machine.EventsRequest', 'with_actor_id', 4, T.STRING, false, ''],
  ['machine.ServiceStateEvent', 'health', 4, T.MESSAGE, false, 'machine.ServiceHealth'],
  ['machine.ResetRequest', 'system_partitions_to_wipe', 3, T.MESSAGE, true, 'machine.ResetPartitionSpec'],
  ['machine.ResetRequest', 'mode', 5, T.ENUM, false, 'machine.ResetRequest.WipeMode'],
  ['machine.ServiceHealth', 'last_change', 4, T.MESSAGE, false, 'google.protobuf.Timestamp'],
  ['machine.EtcdMember', 'id', 2, T.UINT64, false, ''],
  ['machine.EtcdMember', 'is_learner', 6, T.BOOL, false, ''],
  ['machine.EtcdMemberStatus', 'member_id', 10, T.UINT64, false, ''],
  ['machine.EtcdMemberStatus', 'db_size_in_use', 3, T.INT64, false, ''],
  ['machine.EtcdRemoveMemberByIDRequest', 'member_id', 1, T.UINT64, false, ''],
  ['machine.FileInfo', 'relative_name', 9, T.STRING, false, ''],
  ['machine.MemInfo', 'directmap1g', 48, T.UINT64, false, ''],
  ['machine.DiskUsageRequest', 'paths', 4, T.STRING, true, ''],
  ['machine.DiskUsageInfo', 'relative_name', 5, T.STRING, false, ''],
  ['machine.ProcessInfo', 'cpu_time', 5, T.DOUBLE, false, ''],
  ['machine.ProcessInfo', 'label', 11, T.STRING, false, ''],
  ['machine.ContainerInfo', 'uid', 10, T.STRING, false, ''],
  ['machine.ContainerInfo', 'internal_id', 9, T.STRING, false, ''],
  ['machine.Stat', 'memory_usage', 4, T.UINT64, false, ''],
  ['machine.RestartRequest', 'driver', 3, T.ENUM, false, 'common.ContainerDriver'],
  ['machine.EtcdMemberAlarm', 'alarm', 2, T.ENUM, false, 'machine.EtcdMemberAlarm.AlarmType'],
  ['machine.NetstatRequest', 'netns', 4, T.MESSAGE, false, 'machine.NetstatRequest.NetNS'],
  ['machine.ConnectRecord', 'state', 6, T.ENUM, false, 'machine.ConnectRecord.State'],
  ['machine.ConnectRecord', 'process', 17, T.MESSAGE, false, 'machine.ConnectRecord.Process'],
  ['machine.ConnectRecord', 'netns', 18, T.STRING, false, ''],
  ['machine.SystemStat', 'boot_time', 2, T.UINT64, false, ''],
  ['machine.SystemStat', 'cpu_total', 3, T.MESSAGE, false, 'machine.CPUStat'],
  ['machine.SystemStat', 'cpu', 4, T.MESSAGE, true, 'machine.CPUStat'],
  ['machine.SystemStat', 'irq', 6, T.UINT64, true, ''],
  ['machine.SystemStat', 'process_blocked', 10, T.UINT64, false, ''],
  ['machine.SystemStat', 'soft_irq', 12, T.MESSAGE, false, 'machine.SoftIRQStat'],
  ['machine.CPUStat', 'idle', 4, T.DOUBLE, false, ''],
  ['machine.CPUStat', 'guest_nice', 10, T.DOUBLE, false, ''],
  ['machine.SoftIRQStat', 'rcu', 10, T.UINT64, false, ''],
  ['machine.LoadAvg', 'load1', 2, T.DOUBLE, false, ''],
  ['machine.LoadAvg', 'load15', 4, T.DOUBLE, false, ''],
  ['machine.CPUsInfo', 'cpu_info', 2, T.MESSAGE, true, 'machine.CPUInfo'],
  ['machine.CPUInfo', 'processor', 1, T.UINT32, false, ''],
  ['machine.CPUInfo', 'model_name', 5, T.STRING, false, ''],
  ['machine.CPUInfo', 'cpu_mhz', 8, T.DOUBLE, false, ''],
  ['machine.CPUInfo', 'cpu_cores', 13, T.UINT32, false, ''],
  ['machine.CPUInfo', 'flags', 20, T.STRING, true, ''],
  ['machine.CPUInfo', 'bogo_mips', 22, T.DOUBLE, false, ''],
  ['machine.CPUInfo', 'power_management', 26, T.STRING, false, ''],
  ['machine.LogsRequest', 'driver', 3, T.ENUM, false, 'common.ContainerDriver'],
  ['machine.LogsRequest', 'tail_lines', 5, T.INT32, false, ''],
  ['machine.GenerateClientConfigurationRequest', 'crt_ttl', 2, T.MESSAGE, false, 'google.protobuf.Duration'],
  ['cosi.resource.Metadata', 'namespace', 1, T.STRING, false, ''],
  ['cosi.resource.Metadata', 'owner', 5, T.STRING, false, ''],
  ['cosi.resource.Metadata', 'phase', 6, T.STRING, false, ''],
  ['cosi.resource.Metadata', 'created', 7, T.MESSAGE, false, 'google.protobuf.Timestamp'],
  ['cosi.resource.Metadata', 'finalizers', 9, T.STRING, true, ''],
  ['cosi.resource.Metadata', 'labels', 10, T.MESSAGE, true, 'cosi.resource.Metadata.LabelsEntry'],
  ['cosi.resource.Metadata', 'annotations', 11, T.MESSAGE, true, 'cosi.resource.Metadata.AnnotationsEntry'],
  ['cosi.resource.Spec', 'proto_spec', 1, T.BYTES, false, ''],
  ['cosi.resource.Spec', 'yaml_spec', 2, T.STRING, false, ''],
  ['cosi.resource.LabelTerm', 'value', 3, T.STRING, true, ''],
  ['cosi.resource.LabelTerm', 'invert', 5, T.BOOL, false, ''],
  ['cosi.resource.Event', 'old', 3, T.MESSAGE, false, 'cosi.resource.Resource'],
  ['cosi.resource.WatchRequest', 'api_version', 5, T.INT32, false, ''],
  ['cosi.resource.WatchOptions', 'label_query', 3, T.MESSAGE, true, 'cosi.resource.LabelQuery'],
  ['cosi.resource.WatchOptions', 'aggregated', 5, T.BOOL, false, ''],
  ['cosi.resource.WatchResponse', 'event', 1, T.MESSAGE, true, 'cosi.resource.Event'],
  ['cosi.resource.UpdateRequest', 'new_resource', 2, T.MESSAGE, false, 'cosi.resource.Resource'],
  ['cosi.resource.meta.ResourceDefinitionSpec', 'sensitivity', 7, T.ENUM, false, 'cosi.resource.meta.ResourceDefinitionSpec.Sensitivity'],
  ['inspect.ControllerDependencyEdge', 'edge_type', 2, T.ENUM, false, 'inspect.DependencyEdgeType'],
  ['securityapi.CertificateRequest', 'csr', 1, T.BYTES, false, ''],
  ['securityapi.CertificateResponse', 'crt', 2, T.BYTES, false, ''],
  ['time.Time', 'remotetime', 4, T.MESSAGE, false, 'google.protobuf.Timestamp'],
];

// [enum, value name, number]
const enumFacts: Array<[string, string, number]> = [
  ['machine.ApplyConfigurationRequest.Mode', 'REBOOT', 0],
  ['machine.ApplyConfigurationRequest.Mode', 'AUTO', 1],
  ['machine.ApplyConfigurationRequest.Mode', 'NO_REBOOT', 2],
  ['machine.ApplyConfigurationRequest.Mode', 'STAGED', 3],
  ['machine.ApplyConfigurationRequest.Mode', 'TRY', 4],
  ['machine.ServiceStateEvent.Action', 'SKIPPED', 7],
  ['machine.ServiceStateEvent.Action', 'STARTING', 8],
  ['machine.SequenceEvent.Action', 'NOOP', 0],
  ['machine.MachineStatusEvent.MachineStage', 'UPGRADING', 8],
  ['machine.ResetRequest.WipeMode', 'USER_DISKS', 2],
  ['machine.ConnectRecord.State', 'LISTEN', 10],
  ['machine.ConnectRecord.TimerActive', 'PROBE', 4],
  ['machine.EtcdMemberAlarm.AlarmType', 'CORRUPT', 2],
  ['machine.NetstatRequest.Filter', 'LISTENING', 2],
  ['common.Code', 'LOCKED', 1],
  ['cosi.resource.EventType', 'BOOTSTRAPPED', 3],
  ['cosi.resource.EventType', 'ERRORED', 4],
  ['cosi.resource.LabelTerm.Operation', 'IN', 3],
  ['cosi.resource.LabelTerm.Operation', 'LTE_NUMERIC', 7],
  ['inspect.DependencyEdgeType', 'OUTPUT_SHARED', 3],
  ['inspect.DependencyEdgeType', 'INPUT_DESTROY_READY', 4],
];

test('protos: every method keeps upstream path, types and streaming flags', () => {
  for (const [path, input, output, clientStreaming, serverStreaming] of methodFacts) {
    const m = compiled.methods.get(path);
    assert.ok(m, `method ${path} is missing`);
    assert.deepEqual(m, { input, output, clientStreaming, serverStreaming }, path);
  }
});

test('protos: fields keep upstream numbers and types', () => {
  for (const [message, name, number, type, repeated, typeName] of fieldFacts) {
    assert.deepEqual(field(message, name), { number, type, repeated, typeName }, `${message}.${name}`);
  }
});

test('protos: enum values keep upstream numbers', () => {
  for (const [name, value, number] of enumFacts) {
    const e = compiled.enums.get(name);
    assert.ok(e, `enum ${name} is missing`);
    assert.equal(e.get(value), number, `${name}.${value}`);
  }
});

test('protos: every unary MachineService reply is repeated messages=1 whose items lead with common.Metadata', () => {
  let checked = 0;
  for (const [path, m] of compiled.methods) {
    if (!path.startsWith('/machine.MachineService/') || m.serverStreaming) continue;
    const messages = field(m.output, 'messages');
    assert.equal(messages.number, 1, `${m.output}.messages`);
    assert.ok(messages.repeated, `${m.output}.messages is not repeated`);
    assert.deepEqual(field(messages.typeName, 'metadata'), { number: 1, type: T.MESSAGE, repeated: false, typeName: 'common.Metadata' }, messages.typeName);
    checked++;
  }
  assert.ok(checked >= 15, `only ${checked} unary methods found`);
});

test('protos: streamed machine items carry common.Metadata as field 1', () => {
  for (const name of ['common.Data', 'machine.Event', 'machine.FileInfo']) {
    assert.deepEqual(field(name, 'metadata'), { number: 1, type: T.MESSAGE, repeated: false, typeName: 'common.Metadata' }, name);
  }
});

test('protos: no file sets go_package and each known file declares its upstream package', () => {
  const ours = compiled.files.filter((f) => !f.name.startsWith('google/protobuf/'));
  assert.ok(ours.length >= 9, `only ${ours.length} files compiled`);
  const expectedPackage: Record<string, string> = {
    'common/common.proto': 'common',
    'machine/machine.proto': 'machine',
    'inspect/inspect.proto': 'inspect',
    'security/security.proto': 'securityapi',
    'time/time.proto': 'time',
    'google/rpc/status.proto': 'google.rpc',
    'cosi/v1alpha1/resource.proto': 'cosi.resource',
    'cosi/v1alpha1/state.proto': 'cosi.resource',
    'cosi/v1alpha1/meta.proto': 'cosi.resource.meta',
    // containerd's own packages: machined talks to the real containerd with these.
    'containerd/services/containers/v1/containers.proto': 'containerd.services.containers.v1',
    'containerd/services/tasks/v1/tasks.proto': 'containerd.services.tasks.v1',
    'containerd/types/task/task.proto': 'containerd.v1.types',
    'containerd/types/mount.proto': 'containerd.types',
    'containerd/types/metrics.proto': 'containerd.types',
    'containerd/cgroups/v1/metrics.proto': 'io.containerd.cgroups.v1',
    'containerd/cgroups/v2/metrics.proto': 'io.containerd.cgroups.v2',
  };
  for (const f of ours) {
    assert.equal(f.options?.goPackage ?? '', '', `${f.name} sets go_package`);
    assert.equal(f.syntax, 'proto3', `${f.name} is not proto3`);
    const want = expectedPackage[f.name];
    if (want !== undefined) assert.equal(f.package, want, `${f.name} package`);
  }
  for (const name of Object.keys(expectedPackage)) {
    assert.ok(ours.some((f) => f.name === name), `${name} was not compiled`);
  }
});
