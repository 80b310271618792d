import { Code, TalosError } from './errors.ts';
import type { Resource } from './resource.ts';
import type { State } from './state.ts';

/** The namespace holding namespaces and resource definitions themselves. */
export const metaNamespace = 'meta';

/** Type of the resources describing resource types. */
export const ResourceDefinitionType = 'ResourceDefinitions.meta.cosi.dev';

/** Type of the resources describing namespaces. */
export const NamespaceType = 'Namespaces.meta.cosi.dev';

/** Whether a resource type may be read by non-admin roles. */
export type Sensitivity = 'non-sensitive' | 'sensitive';

/** A column `talosctl get` prints for a type, read from the resource by a JSONPath-like path. */
export interface PrintColumn {
  readonly name: string;
  readonly jsonPath: string;
}

/** What a type's author declares. */
export interface ResourceDefinitionInput {
  readonly type: string;
  readonly displayType?: string;
  readonly aliases?: readonly string[];
  readonly defaultNamespace: string;
  readonly printColumns?: readonly PrintColumn[];
  readonly sensitivity?: Sensitivity;
}

/** Spec of a ResourceDefinition resource (id = the type). `allAliases` is what lookups match. */
export interface ResourceDefinitionSpec {
  readonly type: string;
  readonly displayType: string;
  readonly aliases: readonly string[];
  readonly allAliases: readonly string[];
  readonly defaultNamespace: string;
  readonly printColumns: readonly PrintColumn[];
  readonly sensitivity: Sensitivity;
}

/** Spec of a Namespace resource (id = the namespace name). */
export interface NamespaceSpec {
  readonly description: string;
}

const typePattern = /^[A-Z][A-Za-z0-9]*\.[a-z0-9-]+(\.[a-z0-9-]+)+$/;

/**
 * Every name a type answers to: the full type, its plural ("services"), the display type
 * ("service"), the initials of a multi-word display type ("mc" for MachineConfig), and the
 * declared aliases — all lower case, as upstream's lookups are case-insensitive.
 */
export function allAliases(type: string, displayType: string, aliases: readonly string[]): string[] {
  const out = new Set<string>();
  out.add(type.toLowerCase());
  out.add((type.split('.')[0] ?? type).toLowerCase());
  out.add(displayType.toLowerCase());
  const capitals = displayType.match(/[A-Z]/g) ?? [];
  if (capitals.length >= 2) out.add(capitals.join('').toLowerCase());
  for (const a of aliases) out.add(a.toLowerCase());
  return [...out];
}

/** Validates a definition and computes its spec. */
export function resourceDefinitionSpec(input: ResourceDefinitionInput): ResourceDefinitionSpec {
  if (!typePattern.test(input.type)) {
    throw new TalosError(Code.InvalidArgument, `resource type "${input.type}" must look like Plural.group.domain`);
  }
  if (input.defaultNamespace === '') {
    throw new TalosError(Code.InvalidArgument, `resource type "${input.type}": defaultNamespace must not be empty`);
  }
  const plural = input.type.split('.')[0] ?? input.type;
  const displayType = input.displayType ?? (plural.endsWith('s') ? plural.slice(0, -1) : plural);
  const aliases = [...(input.aliases ?? [])];
  return {
    type: input.type,
    displayType,
    aliases,
    allAliases: allAliases(input.type, displayType, aliases),
    defaultNamespace: input.defaultNamespace,
    printColumns: [...(input.printColumns ?? [])],
    sensitivity: input.sensitivity ?? 'non-sensitive',
  };
}

/** Definitions of the meta types themselves, registered by {@link bootstrapMeta}. */
export const metaDefinitions: readonly ResourceDefinitionInput[] = [
  { type: ResourceDefinitionType, displayType: 'ResourceDefinition', aliases: ['rd', 'rds'], defaultNamespace: metaNamespace },
  { type: NamespaceType, displayType: 'Namespace', aliases: ['ns'], defaultNamespace: metaNamespace },
];

/** Creates or replaces the definition resource for a type. */
export function registerResourceDefinition(state: State, input: ResourceDefinitionInput): Resource<ResourceDefinitionSpec> {
  let spec = resourceDefinitionSpec(input);
  // The capital-letter short form is a convenience: AddressSpec and AddressStatus both make "as";
  // the type registered first keeps it and the other goes without, instead of failing.
  const abbreviation = (spec.displayType.match(/[A-Z]/g) ?? []).join('').toLowerCase();
  if (abbreviation.length >= 2 && !spec.aliases.some((a) => a.toLowerCase() === abbreviation) && findByAlias(state, [abbreviation], spec.type)) {
    spec = { ...spec, allAliases: spec.allAliases.filter((a) => a !== abbreviation) };
  }
  const clash = findByAlias(state, spec.allAliases, spec.type);
  if (clash) {
    throw new TalosError(Code.AlreadyExists, `resource type ${spec.type}: alias "${clash.alias}" is already used by ${clash.type}`);
  }
  // The definition's id is its type in lower case, as upstream's (`talosctl get rd
  // resourcedefinitions.meta.cosi.dev`); the spec keeps the type as written.
  return state.modify<ResourceDefinitionSpec>(
    { namespace: metaNamespace, type: ResourceDefinitionType, id: spec.type.toLowerCase() },
    (d) => {
      d.spec = spec;
    },
    { initial: spec },
  );
}

/** Creates the namespace resource (idempotent). */
export function registerNamespace(state: State, name: string, description = ''): Resource<NamespaceSpec> {
  return state.modify<NamespaceSpec>(
    { namespace: metaNamespace, type: NamespaceType, id: name },
    (d) => {
      d.spec = { description };
    },
    { initial: { description } },
  );
}

/** Registers the meta namespace and the meta types, so `get rd` and `get ns` list themselves. */
export function bootstrapMeta(state: State): void {
  registerNamespace(state, metaNamespace, 'Metadata namespace which contains resource and namespace definitions.');
  for (const d of metaDefinitions) registerResourceDefinition(state, d);
}

function findByAlias(state: State, names: readonly string[], except: string): { alias: string; type: string } | undefined {
  for (const rd of state.list<ResourceDefinitionSpec>({ namespace: metaNamespace, type: ResourceDefinitionType })) {
    if (rd.spec.type === except) continue;
    const hit = names.find((n) => rd.spec.allAliases.includes(n));
    if (hit !== undefined) return { alias: hit, type: rd.spec.type };
  }
  return undefined;
}

/** Finds a type's definition by any of its names, case-insensitively (`svc`, `Services`, `rd`, …). */
export function resolveResourceDefinition(state: State, name: string): ResourceDefinitionSpec {
  const want = name.toLowerCase();
  for (const rd of state.list<ResourceDefinitionSpec>({ namespace: metaNamespace, type: ResourceDefinitionType })) {
    if (rd.spec.allAliases.includes(want)) return rd.spec;
  }
  throw new TalosError(Code.NotFound, `resource type "${name}" is not registered`);
}
