// Reading COSI resources as the State API sends them: metadata plus a spec that is YAML text
// (or protobuf bytes for the meta types), and resolving a user's type name (`svc`, `mc`, `rd`)
// through the node's ResourceDefinitions.

import { fromBinary } from '@bufbuild/protobuf';
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { parse as parseYaml } from 'yaml';
import { Code, TalosError } from '@talos-ts/cosi';
import type { CallOpts } from '../grpc/client.ts';
import type { Resource as WireResource } from '../gen/cosi/v1alpha1/resource_pb.ts';
import { NamespaceSpecSchema, ResourceDefinitionSpecSchema, ResourceDefinitionSpec_Sensitivity } from '../gen/cosi/v1alpha1/meta_pb.ts';
import type { TalosClient } from './api-client.ts';

/** Namespace of namespaces and resource definitions. */
export const META_NAMESPACE = 'meta';
/** Type of the resources describing resource types. */
export const RESOURCE_DEFINITION_TYPE = 'ResourceDefinitions.meta.cosi.dev';
/** Type of the resources describing namespaces. */
export const NAMESPACE_TYPE = 'Namespaces.meta.cosi.dev';

/** A resource type's definition as the node describes it. */
export interface ResourceDefinitionInfo {
  readonly type: string;
  readonly displayType: string;
  readonly defaultNamespace: string;
  readonly aliases: readonly string[];
  readonly allAliases: readonly string[];
  readonly printColumns: readonly { readonly name: string; readonly jsonPath: string }[];
  readonly sensitivity: 'non-sensitive' | 'sensitive';
}

/** Resource metadata in the shape upstream prints (`talosctl get -o yaml`). */
export interface ResourceMetadataView {
  namespace: string;
  type: string;
  id: string;
  version: number | string;
  owner?: string;
  phase: string;
  created?: Date;
  updated?: Date;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
}

/** A decoded resource: metadata and the spec as plain data. */
export interface ResourceView {
  readonly metadata: ResourceMetadataView;
  readonly spec: unknown;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** The spec of a wire resource as plain data: YAML text parsed, meta types' protobuf decoded. */
export function resourceSpec(res: WireResource): unknown {
  const spec = res.spec;
  if (!spec) return null;
  if (spec.yamlSpec !== '') {
    try {
      return parseYaml(spec.yamlSpec) as unknown;
    } catch {
      // A multi-document or otherwise odd spec (machine config text) is shown as the text itself.
      return spec.yamlSpec;
    }
  }
  if (spec.protoSpec.length === 0) return null;
  const type = res.metadata?.type;
  if (type === RESOURCE_DEFINITION_TYPE) {
    const d = fromBinary(ResourceDefinitionSpecSchema, spec.protoSpec);
    return {
      resourceType: d.resourceType,
      displayType: d.displayType,
      defaultNamespace: d.defaultNamespace,
      aliases: d.aliases,
      allAliases: d.allAliases,
      printColumns: d.printColumns.map((c) => ({ name: c.name, jsonPath: c.jsonPath })),
      sensitivity: d.sensitivity === ResourceDefinitionSpec_Sensitivity.SENSITIVE ? 'sensitive' : 'non-sensitive',
    };
  }
  if (type === NAMESPACE_TYPE) return { description: fromBinary(NamespaceSpecSchema, spec.protoSpec).description };
  return { protoSpec: Buffer.from(spec.protoSpec).toString('base64') };
}

/** Decodes a wire ResourceDefinition. Accepts upstream's `resourceType` key and our `type`. */
export function decodeResourceDefinition(res: WireResource): ResourceDefinitionInfo {
  const spec = resourceSpec(res);
  if (typeof spec !== 'object' || spec === null) {
    throw new TalosError(Code.Internal, `resource definition ${res.metadata?.id ?? '?'} has no spec`);
  }
  const s = spec as Record<string, unknown>;
  const type = typeof s['resourceType'] === 'string' ? s['resourceType'] : typeof s['type'] === 'string' ? s['type'] : (res.metadata?.id ?? '');
  const displayType = typeof s['displayType'] === 'string' ? s['displayType'] : type.split('.')[0] ?? type;
  const aliases = strings(s['aliases']);
  const all = strings(s['allAliases']);
  const columns = Array.isArray(s['printColumns']) ? (s['printColumns'] as unknown[]) : [];
  return {
    type,
    displayType,
    defaultNamespace: typeof s['defaultNamespace'] === 'string' ? s['defaultNamespace'] : '',
    aliases,
    allAliases: all.length > 0 ? all : [type, ...aliases],
    printColumns: columns
      .filter((c): c is Record<string, unknown> => typeof c === 'object' && c !== null)
      .map((c) => ({ name: String(c['name'] ?? ''), jsonPath: String(c['jsonPath'] ?? c['json_path'] ?? '') })),
    sensitivity: s['sensitivity'] === 'sensitive' || s['sensitivity'] === 1 ? 'sensitive' : 'non-sensitive',
  };
}

/** Metadata and spec of a wire resource, decoded for printing. */
export function resourceView(res: WireResource): ResourceView {
  const m = res.metadata;
  const version = m?.version ?? '';
  const metadata: ResourceMetadataView = {
    namespace: m?.namespace ?? '',
    type: m?.type ?? '',
    id: m?.id ?? '',
    version: /^\d+$/.test(version) ? Number(version) : version,
    ...(m?.owner ? { owner: m.owner } : {}),
    phase: m?.phase || 'running',
    ...(m?.created ? { created: timestampDate(m.created) } : {}),
    ...(m?.updated ? { updated: timestampDate(m.updated) } : {}),
    ...(m?.labels && Object.keys(m.labels).length > 0 ? { labels: { ...m.labels } } : {}),
    ...(m?.annotations && Object.keys(m.annotations).length > 0 ? { annotations: { ...m.annotations } } : {}),
    ...(m?.finalizers && m.finalizers.length > 0 ? { finalizers: [...m.finalizers] } : {}),
  };
  return { metadata, spec: resourceSpec(res) };
}

/** Every resource definition the client's target serves (one node: use a `withNode` view). */
export async function listResourceDefinitions(client: TalosClient, opts: CallOpts = {}): Promise<ResourceDefinitionInfo[]> {
  const out: ResourceDefinitionInfo[] = [];
  for await (const msg of client.resources.list({ namespace: META_NAMESPACE, type: RESOURCE_DEFINITION_TYPE }, opts)) {
    if (msg.resource) out.push(decodeResourceDefinition(msg.resource));
  }
  return out;
}

/** Finds a definition by any of its names, case-insensitively; NotFound names the unknown type. */
export function findResourceDefinition(defs: readonly ResourceDefinitionInfo[], name: string): ResourceDefinitionInfo {
  const want = name.toLowerCase();
  const hit =
    defs.find((d) => d.type.toLowerCase() === want) ?? defs.find((d) => d.allAliases.some((a) => a.toLowerCase() === want));
  if (!hit) throw new TalosError(Code.NotFound, `resource type "${name}" is not registered`);
  return hit;
}

/** Resolves a user's type name through the node's ResourceDefinitions. */
export async function resolveResourceType(client: TalosClient, name: string, opts: CallOpts = {}): Promise<ResourceDefinitionInfo> {
  return findResourceDefinition(await listResourceDefinitions(client, opts), name);
}
