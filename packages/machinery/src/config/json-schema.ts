// JSON Schema (draft 2020-12) of the config documents, emitted from the descriptor table.
import { documentKinds } from './documents.ts';
import type { Format, Node, ObjectNode } from './schema.ts';
import { v1alpha1Descriptor } from './v1alpha1.ts';

/** Where the checked-in schema says it lives. */
export const CONFIG_SCHEMA_ID = 'https://talos-ts.dev/schemas/config.schema.json';

type Schema = Record<string, unknown>;

const formatSchemas: Record<Format, Schema> = {
  cidr: { pattern: '^([0-9.]+/[0-9]{1,2}|[0-9a-fA-F:.]+/[0-9]{1,3})$' },
  ip: { anyOf: [{ format: 'ipv4' }, { format: 'ipv6' }] },
  'ip-or-cidr': { pattern: '^[0-9a-fA-F:.]+(/[0-9]{1,3})?$' },
  'subnet-filter': { pattern: '^!?[0-9a-fA-F:.]+(/[0-9]{1,3})?$' },
  url: { format: 'uri' },
  duration: { pattern: '^([-+]?(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|µs|ms|s|m|h))+|0)$' },
  pem: { pattern: '^(LS0tLS1CRUdJTi[A-Za-z0-9+/=]*)?$' },
  base64: { pattern: '^[A-Za-z0-9+/]*={0,2}$' },
  token: { pattern: '^([a-z0-9]{6}\\.[a-z0-9]{16})?$' },
  mac: { pattern: '^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$' },
};

/** Builds the JSON Schema of every config document kind we load. */
export function configJsonSchema(): Schema {
  const defs: Record<string, Schema> = {};
  const owners = new Map<string, ObjectNode>();

  const emit = (d: Node): Schema => {
    switch (d.kind) {
      case 'any':
        return {};
      case 'boolean':
        return { type: 'boolean' };
      case 'integer': {
        const s: Schema = { type: 'integer' };
        if (d.min !== undefined) s['minimum'] = d.min;
        if (d.max !== undefined) s['maximum'] = d.max;
        return s;
      }
      case 'string': {
        const s: Schema = { type: 'string' };
        if (d.enum) s['enum'] = [...d.enum];
        if (d.format) Object.assign(s, formatSchemas[d.format]);
        return s;
      }
      case 'list':
        return { type: 'array', items: emit(d.item) };
      case 'map':
        return { type: 'object', additionalProperties: emit(d.value) };
      case 'object': {
        const owner = owners.get(d.name);
        if (owner && owner !== d) throw new Error(`two different descriptors are named ${d.name}`);
        if (!owner) {
          owners.set(d.name, d);
          const properties: Record<string, Schema> = {};
          const required: string[] = [];
          for (const [key, field] of Object.entries(d.fields)) {
            const s: Schema = { description: field.doc, ...emit(field.node) };
            if (field.deprecated) s['deprecated'] = true;
            properties[key] = s;
            if (field.required) required.push(key);
          }
          const def: Schema = { type: 'object', properties, additionalProperties: false };
          if (required.length) def['required'] = required;
          defs[d.name] = def;
        }
        return { $ref: `#/$defs/${d.name}` };
      }
    }
  };

  const roots = [emit(v1alpha1Descriptor), ...documentKinds.map((k) => emit(k.descriptor))];
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: CONFIG_SCHEMA_ID,
    title: 'Talos machine configuration document',
    description: 'One document of a machine config: the v1alpha1 document or one of the other kinds beside it.',
    anyOf: roots,
    $defs: Object.fromEntries(Object.entries(defs).sort(([a], [b]) => a.localeCompare(b))),
  };
}

/** The schema as the text checked in at packages/machinery/schema/config.schema.json. */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
