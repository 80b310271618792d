// `talosctl get` output writers (table, yaml, json, jsonpath) laid out as upstream prints them.

import { stringify as stringifyYaml } from 'yaml';
import type { ResourceDefinitionInfo, ResourceView } from '@talos-ts/machinery';
import { CliError } from '../cli.ts';
import { evalJsonPath } from './jsonpath.ts';
import { TabWriter } from './table.ts';

/** What happened to a resource, for watch output. */
export type ResourceEvent = 'created' | 'updated' | 'destroyed';

/** One output format. */
export interface ResourceWriter {
  header(def: ResourceDefinitionInfo, withEvents: boolean): void;
  resource(node: string, r: ResourceView, event: ResourceEvent | undefined): void;
  flush(): void;
}

function goTime(d: Date): string {
  return d.toISOString().replace('.000Z', 'Z');
}

/** Metadata in upstream's key order; an empty owner stays as an empty key. */
function metadataObject(r: ResourceView): Record<string, unknown> {
  const m = r.metadata;
  return {
    namespace: m.namespace,
    type: m.type,
    id: m.id,
    version: m.version,
    owner: m.owner ?? null,
    phase: m.phase,
    ...(m.created ? { created: goTime(m.created) } : {}),
    ...(m.updated ? { updated: goTime(m.updated) } : {}),
    ...(m.labels ? { labels: m.labels } : {}),
    ...(m.annotations ? { annotations: m.annotations } : {}),
    ...(m.finalizers ? { finalizers: m.finalizers } : {}),
  };
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object' && !(v instanceof Date)) {
    const o = v as Record<string, unknown>;
    return Object.fromEntries(Object.keys(o).sort().map((k) => [k, sortKeys(o[k])]));
  }
  return v;
}

class TableWriter implements ResourceWriter {
  readonly #w: TabWriter;
  #events = false;
  #displayType = '';
  #columns: readonly { name: string; jsonPath: string }[] = [];

  constructor(out: (t: string) => void) {
    this.#w = new TabWriter(out);
  }

  header(def: ResourceDefinitionInfo, withEvents: boolean): void {
    this.#events = withEvents;
    this.#displayType = def.displayType;
    this.#columns = def.printColumns;
    this.#w.row(['NODE', ...(withEvents ? ['*'] : []), 'NAMESPACE', 'TYPE', 'ID', 'VERSION', ...def.printColumns.map((c) => c.name.toUpperCase())]);
  }

  resource(node: string, r: ResourceView, event: ResourceEvent | undefined): void {
    const label = event === 'created' ? '+' : event === 'destroyed' ? '-' : ' ';
    const cols = this.#columns.map((c) => {
      try {
        return evalJsonPath(c.jsonPath, r.spec);
      } catch (err) {
        throw new CliError(`error parsing column "${c.name}" jsonpath: ${(err as Error).message}`);
      }
    });
    this.#w.row([node, ...(this.#events ? [label] : []), r.metadata.namespace, this.#displayType, r.metadata.id, String(r.metadata.version), ...cols]);
  }

  flush(): void {
    this.#w.flush();
  }
}

class YamlWriter implements ResourceWriter {
  readonly #out: (t: string) => void;
  #events = false;
  #dashes = false;

  constructor(out: (t: string) => void) {
    this.#out = out;
  }

  header(_def: ResourceDefinitionInfo, withEvents: boolean): void {
    this.#events = withEvents;
  }

  resource(node: string, r: ResourceView, event: ResourceEvent | undefined): void {
    if (this.#dashes) this.#out('---\n');
    this.#dashes = true;
    this.#out(`node: ${node}\n`);
    if (this.#events && event) this.#out(`event: ${event}\n`);
    this.#out(stringifyYaml({ metadata: metadataObject(r), spec: r.spec }, { indent: 4, lineWidth: 0, nullStr: '' }));
  }

  flush(): void {}
}

class JsonWriter implements ResourceWriter {
  readonly #out: (t: string) => void;
  #events = false;

  constructor(out: (t: string) => void) {
    this.#out = out;
  }

  header(_def: ResourceDefinitionInfo, withEvents: boolean): void {
    this.#events = withEvents;
  }

  resource(node: string, r: ResourceView, event: ResourceEvent | undefined): void {
    // Upstream goes through a Go map, so keys come out sorted.
    const data = { metadata: metadataObject(r), spec: r.spec, node, ...(this.#events && event ? { event } : {}) };
    this.#out(`${JSON.stringify(sortKeys(data), null, 4)}\n`);
  }

  flush(): void {}
}

class JsonPathWriter implements ResourceWriter {
  constructor(
    readonly out: (t: string) => void,
    readonly template: string,
  ) {}

  header(): void {}

  resource(node: string, r: ResourceView): void {
    try {
      this.out(`${evalJsonPath(this.template, { node, metadata: metadataObject(r), spec: r.spec })}\n`);
    } catch (err) {
      throw new CliError(`error parsing jsonpath: ${(err as Error).message}`);
    }
  }

  flush(): void {}
}

/** The writer for `-o`: table, yaml, json or jsonpath=TEMPLATE. */
export function resourceWriter(format: string, out: (t: string) => void): ResourceWriter {
  if (format === 'table') return new TableWriter(out);
  if (format === 'yaml') return new YamlWriter(out);
  if (format === 'json') return new JsonWriter(out);
  if (format.startsWith('jsonpath=')) return new JsonPathWriter(out, format.slice('jsonpath='.length));
  throw new CliError(`output writer "${format}" is not supported`);
}
