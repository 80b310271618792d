import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command, Help, Option } from 'commander';
import { configJsonSchema } from '@talos-ts/machinery';
import { CliError, type CliIo, type CommandRegistrar } from '../../cli.ts';
import { loadFullProgram } from '../../full-program.ts';

function frontmatter(title: string, description: string): string {
  return `---\ndescription: ${description}\ntitle: ${title}\n---\n\n<!-- markdownlint-disable -->\n\n`;
}

function fullName(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** The in-page anchor of a command's section, as upstream's link handler makes them. */
const anchor = (cmd: Command): string => `#${fullName(cmd).replace(/ /g, '-').toLowerCase()}`;

function optionLines(help: Help, options: readonly Option[]): string {
  const terms = options.map((o) => help.optionTerm(o));
  const width = Math.max(0, ...terms.map((t) => t.length));
  return options.map((o, i) => `  ${(terms[i] ?? '').padEnd(width)}   ${help.optionDescription(o)}`.trimEnd()).join('\n');
}

const summaryOf = (cmd: Command): string => cmd.summary() || (cmd.description().split('\n')[0] ?? '');

/** One command's section: synopsis, usage, options, inherited options and links, as cobra lays them out. */
function section(cmd: Command): string {
  const help = cmd.createHelp();
  const name = fullName(cmd);
  const out: string[] = [`## ${name}`, '', summaryOf(cmd), ''];
  const long = cmd.description();
  if (long.includes('\n')) out.push('### Synopsis', '', long, '');
  const runnable = help.visibleCommands(cmd).length === 0 || cmd.registeredArguments.length > 0;
  if (runnable) out.push('```', `${name} ${cmd.usage()}`.trimEnd(), '```', '');
  const own = help.visibleOptions(cmd);
  if (own.length > 0) out.push('### Options', '', '```', optionLines(help, own), '```', '');
  const inherited: Option[] = [];
  for (let p = cmd.parent; p; p = p.parent) inherited.push(...p.options.filter((o) => !o.hidden));
  if (inherited.length > 0) out.push('### Options inherited from parent commands', '', '```', optionLines(help, inherited), '```', '');
  const links: string[] = [];
  if (cmd.parent) links.push(`* [${fullName(cmd.parent)}](${anchor(cmd.parent)})\t - ${summaryOf(cmd.parent)}`);
  for (const c of help.visibleCommands(cmd)) if (c.name() !== 'help') links.push(`* [${fullName(c)}](${anchor(c)})\t - ${summaryOf(c)}`);
  if (links.length > 0) out.push('### SEE ALSO', '', ...links, '');
  return `${out.join('\n')}\n`;
}

/** Every visible command's section, children before their parent, as upstream's reference orders them. */
export function cliReference(cmd: Command): string {
  const help = cmd.createHelp();
  const parts: string[] = [];
  for (const c of help.visibleCommands(cmd)) if (c.name() !== 'help') parts.push(cliReference(c));
  parts.push(section(cmd));
  return parts.join('');
}

interface SchemaNode {
  type?: string | string[];
  description?: string;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  additionalProperties?: SchemaNode | boolean;
  $ref?: string;
  enum?: unknown[];
}

/** The v1alpha1 document's fields as Markdown tables, one per object, from the JSON Schema. */
export function configReference(): string {
  const schema = configJsonSchema() as SchemaNode & { anyOf?: SchemaNode[]; $defs?: Record<string, SchemaNode>; definitions?: Record<string, SchemaNode> };
  const defs = schema.$defs ?? schema.definitions ?? {};
  const resolve = (n: SchemaNode): SchemaNode => {
    const ref = n.$ref?.split('/').pop();
    return ref && defs[ref] ? resolve(defs[ref]) : n;
  };
  const typeOf = (raw: SchemaNode): string => {
    const n = resolve(raw);
    if (n.enum) return n.enum.map((v) => JSON.stringify(v)).join(' \\| ');
    if (n.properties) return 'object';
    if (n.items) return `[]${typeOf(n.items)}`;
    return Array.isArray(n.type) ? n.type.join(' \\| ') : (n.type ?? 'any');
  };
  const out: string[] = [];
  const seen = new Set<SchemaNode>();
  const walk = (path: string, raw: SchemaNode): void => {
    let n = resolve(raw);
    while (n.items) n = resolve(n.items);
    if (!n.properties || seen.has(n)) return;
    seen.add(n);
    out.push(`## ${path}`, '');
    if (n.description) out.push(n.description, '');
    out.push('| Field | Type | Description |', '|-------|------|-------------|');
    for (const [k, v] of Object.entries(n.properties)) {
      out.push(`| \`${k}\` | ${typeOf(v)} | ${(resolve(v).description ?? v.description ?? '').replace(/\n/g, ' ')} |`);
    }
    out.push('');
    for (const [k, v] of Object.entries(n.properties)) walk(`${path}.${k}`, v);
  };
  // One section tree per document kind (v1alpha1 first), named by the kind.
  for (const kind of schema.anyOf ?? [schema]) walk(kind.$ref?.split('/').pop() ?? 'Config', kind);
  return `${out.join('\n')}\n`;
}

/** `talosctl docs <output>`: the CLI reference (cli.md) and the config reference, as upstream's hidden command. */
export const registerDocs: CommandRegistrar = (parent: Command, io: CliIo) => {
  parent
    .command('docs', { hidden: true })
    .description('Generate documentation for the CLI or config')
    .argument('<output>', 'directory to write into')
    .option('--cli', 'generate documentation for the CLI')
    .option('--config', 'generate documentation for the default configuration schema')
    .action(async (dir: string, opts: { cli?: boolean; config?: boolean }) => {
      const all = !opts.cli && !opts.config;
      // The reference covers every command, not only the ones this run loaded.
      const root = await loadFullProgram(io);
      try {
        await mkdir(dir, { recursive: true });
        if (opts.cli || all) {
          await writeFile(join(dir, 'cli.md'), frontmatter('CLI', 'Talosctl CLI tool reference.') + cliReference(root));
        }
        if (opts.config || all) {
          await mkdir(join(dir, 'v1alpha1'), { recursive: true });
          await writeFile(join(dir, 'v1alpha1', 'config.md'), frontmatter('Config', 'Talos-TS machine configuration reference.') + configReference());
        }
      } catch (err) {
        throw new CliError(`failed to generate docs in ${JSON.stringify(dir)}: ${(err as Error).message}`);
      }
    });
};
