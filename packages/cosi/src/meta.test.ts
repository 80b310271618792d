import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, hasCode } from './errors.ts';
import {
  NamespaceType,
  ResourceDefinitionType,
  bootstrapMeta,
  metaNamespace,
  registerNamespace,
  registerResourceDefinition,
  resolveResourceDefinition,
  type ResourceDefinitionSpec,
} from './meta.ts';
import { InMemoryState } from './state.ts';

function setup() {
  const s = new InMemoryState();
  bootstrapMeta(s);
  registerNamespace(s, 'runtime', 'Talos runtime.');
  registerResourceDefinition(s, {
    type: 'Services.v1alpha1.talos.dev',
    aliases: ['svc'],
    defaultNamespace: 'runtime',
    printColumns: [{ name: 'Running', jsonPath: '{.running}' }],
  });
  registerResourceDefinition(s, {
    type: 'MachineConfigs.config.talos.dev',
    displayType: 'MachineConfig',
    defaultNamespace: 'config',
    sensitivity: 'sensitive',
  });
  return s;
}

test('meta: definitions and namespaces are resources a client can list', () => {
  const s = setup();
  const rds = s.list<ResourceDefinitionSpec>({ namespace: metaNamespace, type: ResourceDefinitionType }).map((r) => r.metadata.id);
  assert.deepEqual(rds, ['machineconfigs.config.talos.dev', 'namespaces.meta.cosi.dev', 'resourcedefinitions.meta.cosi.dev', 'services.v1alpha1.talos.dev']);
  assert.deepEqual(s.list({ namespace: metaNamespace, type: NamespaceType }).map((r) => r.metadata.id), ['meta', 'runtime']);
});

test('meta: a definition is found by its lower-case id, as upstream names them; the spec keeps the type as written', () => {
  const s = setup();
  const rd = s.get<ResourceDefinitionSpec>({ namespace: metaNamespace, type: ResourceDefinitionType, id: 'resourcedefinitions.meta.cosi.dev' });
  assert.equal(rd?.spec.type, ResourceDefinitionType);
  assert.equal(s.get<ResourceDefinitionSpec>({ namespace: metaNamespace, type: ResourceDefinitionType, id: 'services.v1alpha1.talos.dev' })?.spec.displayType, 'Service');
});

test('meta: lookup by any alias is case-insensitive (rd, ns, svc, Services, service, mc)', () => {
  const s = setup();
  const cases: [string, string][] = [
    ['rd', ResourceDefinitionType],
    ['RD', ResourceDefinitionType],
    ['resourcedefinitions', ResourceDefinitionType],
    ['ns', NamespaceType],
    ['namespace', NamespaceType],
    ['svc', 'Services.v1alpha1.talos.dev'],
    ['Services', 'Services.v1alpha1.talos.dev'],
    ['service', 'Services.v1alpha1.talos.dev'],
    ['services.v1alpha1.talos.dev', 'Services.v1alpha1.talos.dev'],
    ['mc', 'MachineConfigs.config.talos.dev'],
    ['machineconfig', 'MachineConfigs.config.talos.dev'],
  ];
  for (const [name, type] of cases) assert.equal(resolveResourceDefinition(s, name).type, type, name);
  assert.throws(() => resolveResourceDefinition(s, 'nosuch'), (e) => hasCode(e, Code.NotFound));
});

test('meta: definitions carry print columns, default namespace and sensitivity', () => {
  const s = setup();
  const svc = resolveResourceDefinition(s, 'svc');
  assert.equal(svc.displayType, 'Service');
  assert.equal(svc.defaultNamespace, 'runtime');
  assert.deepEqual(svc.printColumns, [{ name: 'Running', jsonPath: '{.running}' }]);
  assert.equal(svc.sensitivity, 'non-sensitive');
  assert.equal(resolveResourceDefinition(s, 'mc').sensitivity, 'sensitive');
});

test('meta: a malformed type or an alias clash is refused', () => {
  const s = setup();
  assert.throws(() => registerResourceDefinition(s, { type: 'bad', defaultNamespace: 'x' }), (e) => hasCode(e, Code.InvalidArgument));
  assert.throws(
    () => registerResourceDefinition(s, { type: 'Sockets.net.talos.dev', aliases: ['svc'], defaultNamespace: 'x' }),
    (e) => hasCode(e, Code.AlreadyExists) && /"svc" is already used by Services/.test((e as Error).message),
  );
  registerResourceDefinition(s, { type: 'Services.v1alpha1.talos.dev', aliases: ['svc'], defaultNamespace: 'runtime' });
});

test('meta: shared derived initials go to the type registered first; declared aliases still clash', () => {
  const s = setup();
  registerResourceDefinition(s, { type: 'KubeSpanPeerSpecs.kubespan.talos.dev', displayType: 'KubeSpanPeerSpec', defaultNamespace: 'kubespan' });
  registerResourceDefinition(s, { type: 'KubeSpanPeerStatuses.kubespan.talos.dev', displayType: 'KubeSpanPeerStatus', defaultNamespace: 'kubespan' });
  assert.equal(resolveResourceDefinition(s, 'ksps').type, 'KubeSpanPeerSpecs.kubespan.talos.dev');
  assert.equal(resolveResourceDefinition(s, 'kubespanpeerstatus').type, 'KubeSpanPeerStatuses.kubespan.talos.dev');
  assert.throws(
    () => registerResourceDefinition(s, { type: 'KubeSpanThings.kubespan.talos.dev', displayType: 'KubeSpanThing', aliases: ['ksps'], defaultNamespace: 'kubespan' }),
    (e) => hasCode(e, Code.AlreadyExists),
  );
});

test('registerResourceDefinition: a clashing capital-letter short form goes to the first type; explicit aliases still clash', () => {
  const s = new InMemoryState();
  bootstrapMeta(s);
  registerResourceDefinition(s, { type: 'AddressSpecs.net.talos.dev', displayType: 'AddressSpec', defaultNamespace: 'network' });
  registerResourceDefinition(s, { type: 'AddressStatuses.net.talos.dev', displayType: 'AddressStatus', aliases: ['addresses'], defaultNamespace: 'network' });
  assert.equal(resolveResourceDefinition(s, 'as').type, 'AddressSpecs.net.talos.dev');
  assert.equal(resolveResourceDefinition(s, 'addresses').type, 'AddressStatuses.net.talos.dev');
  assert.throws(() => registerResourceDefinition(s, { type: 'Others.net.talos.dev', aliases: ['addresses'], defaultNamespace: 'network' }), /already used/);
});
