import type { Controller } from './controller.ts';
import type { State } from './state.ts';

/** Options of {@link dependencyGraph}. */
export interface GraphOptions {
  /** Draw resource instances from this state instead of resource types. */
  readonly withResources?: State;
}

function quote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * The controller ↔ resource graph in Graphviz DOT: controllers as boxes, resource types (or
 * instances) as notes, input edges labelled by input kind, output edges by output kind.
 */
export function dependencyGraph(controllers: readonly Controller[], options: GraphOptions = {}): string {
  const lines = ['digraph controllers {', '  rankdir=LR;', '  node [fontname="sans-serif"];'];
  const nodes = new Set<string>();
  const node = (id: string, attrs: string): void => {
    if (nodes.has(id)) return;
    nodes.add(id);
    lines.push(`  ${quote(id)} [${attrs}];`);
  };
  const state = options.withResources;
  for (const c of controllers) node(`controller:${c.name}`, `shape=box, style=filled, fillcolor="#dde8f5", label=${quote(c.name)}`);
  for (const c of controllers) {
    const cid = quote(`controller:${c.name}`);
    for (const i of c.inputs) {
      const style = i.kind === 'weak' ? 'dashed' : i.kind === 'strong' ? 'solid' : 'dotted';
      if (!state) {
        const rid = `type:${i.type}`;
        node(rid, `shape=note, label=${quote(i.type)}`);
        lines.push(`  ${quote(rid)} -> ${cid} [label=${quote(i.kind)}, style=${style}];`);
        continue;
      }
      for (const r of state.list({ namespace: i.namespace, type: i.type })) {
        if (i.id !== undefined && r.metadata.id !== i.id) continue;
        const rid = `resource:${r.metadata.namespace}/${r.metadata.type}/${r.metadata.id}`;
        node(rid, `shape=note, label=${quote(`${r.metadata.type}\n${r.metadata.namespace}/${r.metadata.id}`)}`);
        lines.push(`  ${quote(rid)} -> ${cid} [label=${quote(i.kind)}, style=${style}];`);
      }
    }
    for (const o of c.outputs) {
      if (!state) {
        const rid = `type:${o.type}`;
        node(rid, `shape=note, label=${quote(o.type)}`);
        lines.push(`  ${cid} -> ${quote(rid)} [label=${quote(o.kind)}];`);
        continue;
      }
      for (const r of listAllNamespaces(state, o.type)) {
        if (r.owner !== c.name) continue;
        const rid = `resource:${r.namespace}/${o.type}/${r.id}`;
        node(rid, `shape=note, label=${quote(`${o.type}\n${r.namespace}/${r.id}`)}`);
        lines.push(`  ${cid} -> ${quote(rid)} [label=${quote(o.kind)}];`);
      }
    }
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}

// Outputs are declared by type only; the namespaces they land in come from the controllers' own
// inputs and the registered namespaces, so look in every namespace the state knows about.
function listAllNamespaces(state: State, type: string): { namespace: string; id: string; owner: string }[] {
  const namespaces = new Set(state.list({ namespace: 'meta', type: 'Namespaces.meta.cosi.dev' }).map((r) => r.metadata.id));
  const out: { namespace: string; id: string; owner: string }[] = [];
  for (const ns of namespaces) {
    for (const r of state.list({ namespace: ns, type })) out.push({ namespace: ns, id: r.metadata.id, owner: r.metadata.owner });
  }
  return out;
}
