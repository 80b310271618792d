import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { LabelQuery, Resource, WatchEvent } from '@talos-ts/cosi';
import { MachineConfigType, cosiResourcePb, cosiStatePb, type MachineConfigSpec } from '@talos-ts/machinery';
import { stringify } from 'yaml';

type ResourceInit = MessageInitShape<typeof cosiResourcePb.ResourceSchema>;
type EventInit = MessageInitShape<typeof cosiStatePb.EventSchema>;

// Upstream shows the machine config's spec as the config document itself, not wrapped in a field.
const rawYamlSpecs: ReadonlySet<string> = new Set([MachineConfigType]);

function specYaml(r: Resource): string {
  if (rawYamlSpecs.has(r.metadata.type)) return (r.spec as MachineConfigSpec).yaml;
  return stringify(r.spec, { lineWidth: 0 });
}

/** A resource as cosi.resource.State sends it: metadata plus the spec as YAML, as upstream. */
export function toApiResource(r: Resource): ResourceInit {
  const m = r.metadata;
  return {
    metadata: {
      namespace: m.namespace,
      type: m.type,
      id: m.id,
      version: String(m.version),
      owner: m.owner,
      phase: m.phase,
      created: timestampFromMs(m.created),
      updated: timestampFromMs(m.updated),
      finalizers: [...m.finalizers],
      labels: { ...m.labels },
      annotations: { ...m.annotations },
    },
    spec: { yamlSpec: specYaml(r) },
  };
}

const eventTypes: Record<WatchEvent['type'], cosiStatePb.EventType> = {
  created: cosiStatePb.EventType.CREATED,
  updated: cosiStatePb.EventType.UPDATED,
  destroyed: cosiStatePb.EventType.DESTROYED,
  bootstrapped: cosiStatePb.EventType.BOOTSTRAPPED,
  errored: cosiStatePb.EventType.ERRORED,
};

/** A watch event as cosi.resource.State sends it. */
export function toApiEvent(e: WatchEvent): EventInit {
  return {
    eventType: eventTypes[e.type],
    ...(e.resource ? { resource: toApiResource(e.resource) } : {}),
    ...(e.old ? { old: toApiResource(e.old) } : {}),
    ...(e.error ? { error: e.error.message } : {}),
  };
}

const Op = cosiResourcePb.LabelTerm_Operation;
const ops: Record<number, LabelQuery['terms'][number]['op']> = {
  [Op.EXISTS]: 'exists',
  [Op.NOT_EXISTS]: 'exists',
  [Op.EQUAL]: 'equal',
  [Op.IN]: 'in',
  [Op.LT]: 'lt',
  [Op.LTE]: 'lte',
  [Op.LT_NUMERIC]: 'ltNumeric',
  [Op.LTE_NUMERIC]: 'lteNumeric',
};

/** Label queries from the API (several are ANDed together, as one query of all their terms). */
export function fromApiLabelQueries(queries: readonly cosiResourcePb.LabelQuery[]): LabelQuery | undefined {
  const terms = queries.flatMap((q) =>
    // NOT_EXISTS is the old spelling of an inverted EXISTS.
    q.terms.map((t) => ({ key: t.key, op: ops[t.op] ?? 'exists', value: [...t.value], invert: t.invert !== (t.op === Op.NOT_EXISTS) })),
  );
  return terms.length === 0 ? undefined : { terms };
}
