import type { Command } from 'commander';
import { inspectPb, resourceView, type ResourceView } from '@talos-ts/machinery';
import { withApiClient } from '../../api.ts';
import { CliError, type CliIo, type CommandRegistrar } from '../../cli.ts';
import { nodeTargets } from '../../targets.ts';

function quote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A small Graphviz writer: nodes get stable ids in first-use order, as emicklei/dot numbers them. */
class Dot {
  readonly #ids = new Map<string, string>();
  readonly #nodes: string[] = [];
  readonly #clusters = new Map<string, string[]>();
  readonly #edges: string[] = [];

  node(name: string, attrs: Record<string, string>, cluster?: string): string {
    let id = this.#ids.get(name);
    if (id === undefined) {
      id = `n${this.#ids.size + 1}`;
      this.#ids.set(name, id);
      const line = `${id}[${Object.entries({ label: name, ...attrs }).map(([k, v]) => `${k}=${quote(v)}`).join(',')}];`;
      if (cluster === undefined) this.#nodes.push(line);
      else this.#clusters.set(cluster, [...(this.#clusters.get(cluster) ?? []), line]);
    }
    return id;
  }

  edge(from: string, to: string, attrs: Record<string, string>): void {
    const a = Object.entries(attrs).map(([k, v]) => `${k}=${quote(v)}`).join(',');
    this.#edges.push(`${from}->${to}${a ? `[${a}]` : ''};`);
  }

  toString(): string {
    const lines = ['digraph  {'];
    let c = 0;
    for (const [name, nodes] of this.#clusters) {
      c++;
      lines.push(`\tsubgraph cluster_s${c} {`, `\t\tID = ${quote(`cluster_s${c}`)};`, `\t\tlabel=${quote(name)};`, ...nodes.map((n) => `\t\t${n}`), '\t}');
    }
    lines.push(...this.#nodes.map((n) => `\t${n}`), ...this.#edges.map((e) => `\t${e}`), '}', '');
    return lines.join('\n');
  }
}

const resourceNote = { shape: 'note', fillcolor: 'azure2', style: 'filled' };
const E = inspectPb.DependencyEdgeType;

/** `talosctl inspect dependencies`: the controller ↔ resource graph of one node as Graphviz DOT. */
export const registerInspectDependencies: CommandRegistrar = (parent: Command, io: CliIo) => {
  const group =
    parent.commands.find((c) => c.name() === 'inspect') ?? parent.command('inspect').description('Inspect internals of Talos');
  group
    .command('dependencies')
    .description('Inspect controller-resource dependencies as graphviz graph (pipe through "dot -Tpng")')
    .option('--with-resources', 'display live resource information with dependencies')
    .action(async (opts: { withResources?: boolean }, cmd: Command) => {
      await withApiClient(cmd, async (s) => {
        if (s.nodes.length > 1) throw new CliError('command "inspect dependencies" is not supported with multiple nodes');
        const res = await s.client.inspect.controllerRuntimeDependencies({}, { signal: s.signal });
        const failed = res.messages.find((m) => m.metadata?.error);
        if (failed) throw new CliError(`${s.nodeName(failed.metadata?.hostname)}: ${failed.metadata?.error ?? ''}`);
        const edges = res.messages.flatMap((m) => m.edges);
        const dot = new Dot();
        if (!opts.withResources) {
          for (const e of edges) {
            dot.node(e.controllerName, { shape: 'box' });
            dot.node(e.resourceType, resourceNote);
          }
          for (const e of edges) {
            const ctrl = dot.node(e.controllerName, {});
            const rt = dot.node(e.resourceType, {});
            const label = e.resourceId !== '' ? { label: e.resourceId } : {};
            if (e.edgeType === E.OUTPUT_EXCLUSIVE) dot.edge(ctrl, rt, { style: 'bold' });
            else if (e.edgeType === E.OUTPUT_SHARED) dot.edge(ctrl, rt, { style: 'solid' });
            else if (e.edgeType === E.INPUT_STRONG) dot.edge(rt, ctrl, { ...label, style: 'solid' });
            else if (e.edgeType === E.INPUT_WEAK) dot.edge(rt, ctrl, { ...label, style: 'dotted' });
            else if (e.edgeType === E.INPUT_DESTROY_READY) dot.edge(rt, ctrl, { ...label, style: 'dashed' });
          }
          io.out(dot.toString());
          return;
        }
        const target = nodeTargets(s)[0];
        const resources = new Map<string, ResourceView[]>();
        for (const e of edges) {
          if (resources.has(e.resourceType) || !target) continue;
          const list: ResourceView[] = [];
          for await (const m of target.client.resources.list({ namespace: e.resourceNamespace, type: e.resourceType }, { signal: s.signal })) {
            if (m.resource) list.push(resourceView(m.resource));
          }
          resources.set(e.resourceType, list);
        }
        const rid = (r: ResourceView): string => `${r.metadata.namespace}/${r.metadata.type}/${r.metadata.id}`;
        for (const e of edges) dot.node(e.controllerName, { shape: 'box' });
        for (const [type, list] of resources) for (const r of list) dot.node(rid(r), resourceNote, type);
        for (const e of edges) {
          for (const r of resources.get(e.resourceType) ?? []) {
            if (e.resourceId !== '' && r.metadata.id !== e.resourceId) continue;
            const output = e.edgeType === E.OUTPUT_EXCLUSIVE || e.edgeType === E.OUTPUT_SHARED;
            if (output && (r.metadata.owner ?? '') !== e.controllerName) continue;
            const ctrl = dot.node(e.controllerName, {});
            const node = dot.node(rid(r), {});
            if (output) dot.edge(ctrl, node, { style: 'solid' });
            else dot.edge(node, ctrl, { style: e.edgeType === E.INPUT_WEAK ? 'dotted' : 'solid' });
          }
        }
        io.out(dot.toString());
      });
    });
};
