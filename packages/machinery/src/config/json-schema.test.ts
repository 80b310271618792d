import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { configJsonSchema, configJsonSchemaText } from './json-schema.ts';

test('configJsonSchema: checked-in schema matches the generator (run npm run gen:schema)', () => {
  const path = new URL('../../schema/config.schema.json', import.meta.url).pathname;
  assert.equal(readFileSync(path, 'utf8'), configJsonSchemaText());
});

test('configJsonSchema: fields, required lists and replace-free shapes come from the table', () => {
  const s = configJsonSchema() as { $defs: Record<string, { properties: Record<string, Record<string, unknown>>; required?: string[]; additionalProperties: unknown }> };
  const device = s.$defs['Device'];
  assert.ok(device);
  assert.equal(device.additionalProperties, false);
  assert.deepEqual(device.properties['mtu']?.['type'], 'integer');
  assert.equal(device.properties['cidr']?.['deprecated'], true);
  assert.deepEqual(s.$defs['MachineConfig']?.required, ['type', 'token']);
  assert.deepEqual(s.$defs['Config']?.properties['version']?.['enum'], ['v1alpha1']);
  assert.ok(s.$defs['ClusterDiscoveryConfig']?.properties['registries']);
});
