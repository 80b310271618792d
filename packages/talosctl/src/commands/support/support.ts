import { stat, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { stringify as stringifyYaml } from 'yaml';
import { TalosError } from '@talos-ts/cosi';
import { currentVersion, listResourceDefinitions, resourceView, type TalosClient, type machinePb } from '@talos-ts/machinery';
import { withApiClient } from '../../api.ts';
import { CliError, type CliIo, type CommandRegistrar } from '../../cli.ts';
import { nodeTargets } from '../../targets.ts';
import { ZipWriter } from './zip.ts';

/** One file of the bundle: its path under the node's folder and how to get its contents (undefined: leave it out). */
interface Collector {
  readonly path: string;
  collect(client: TalosClient, signal: AbortSignal): Promise<string | undefined>;
}

async function streamText(stream: AsyncIterable<{ metadata?: { error: string } | undefined; bytes: Uint8Array }>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const d of stream) {
    if (d.metadata?.error) throw new Error(d.metadata.error);
    chunks.push(Buffer.from(d.bytes));
  }
  return Buffer.concat(chunks).toString('utf8');
}

function versionBlock(v: { tag?: string; sha?: string; built?: string; goVersion?: string; os?: string; arch?: string } | undefined): string {
  return [`\tTag:         ${v?.tag ?? ''}`, `\tSHA:         ${v?.sha ?? ''}`, `\tBuilt:       ${v?.built ?? ''}`, `\tRuntime:     ${v?.goVersion ?? ''}`, `\tOS/Arch:     ${v?.os ?? ''}/${v?.arch ?? ''}`, ''].join('\n');
}

function serviceState(svc: machinePb.ServiceInfo): string {
  const health = svc.health?.unknown ? '?' : svc.health?.healthy ? 'OK' : 'Fail';
  const lines = [`ID       ${svc.id}`, `STATE    ${svc.state}`, `HEALTH   ${health}`];
  if (svc.health?.lastMessage) lines.push(`LAST HEALTH MESSAGE   ${svc.health.lastMessage}`);
  let label = 'EVENTS ';
  for (const ev of [...(svc.events?.events ?? [])].reverse()) {
    const at = ev.ts ? new Date(Number(ev.ts.seconds) * 1000).toISOString() : '';
    lines.push(`${label}  [${ev.state}]: ${ev.msg} (${at})`);
    label = '       ';
  }
  return `${lines.join('\n')}\n`;
}

/** The files upstream's bundle has per node that our API can give today; the rest record an error. */
async function nodeCollectors(client: TalosClient, signal: AbortSignal): Promise<Collector[]> {
  const base: Collector[] = [
    { path: 'dmesg.log', collect: (c, s) => streamText(c.machine.dmesg({ follow: false, tail: false }, { signal: s })) },
    // upstream's controller-runtime log is machined's own log here
    { path: 'controller-runtime.log', collect: (c, s) => streamText(c.machine.logs({ id: 'machined', tailLines: -1, follow: false, namespace: 'system' }, { signal: s })) },
    {
      path: 'mounts',
      collect: async (c, s) => {
        const res = await c.machine.mounts({}, { signal: s });
        const rows = res.messages.flatMap((m) => m.stats.map((st) => `${st.filesystem}\t${st.size}\t${st.available}\t${st.mountedOn}`));
        return `FILESYSTEM\tSIZE\tAVAILABLE\tMOUNTED ON\n${rows.join('\n')}\n`;
      },
    },
    {
      path: 'summary',
      collect: async (c, s) => {
        const res = await c.machine.version({}, { signal: s });
        const v = currentVersion();
        return `Client:\n${versionBlock({ tag: v.tag, sha: v.sha, built: v.built, goVersion: v.runtime, os: v.os, arch: v.arch })}Server:\n${res.messages.map((m) => versionBlock(m.version)).join('')}`;
      },
    },
  ];
  const defs = await listResourceDefinitions(client, { signal });
  for (const def of defs) {
    base.push({
      path: `resources/${def.type.toLowerCase()}.yaml`,
      collect: async (c, s) => {
        const docs: string[] = [];
        for await (const msg of c.resources.list({ namespace: def.defaultNamespace, type: def.type }, { signal: s })) {
          if (!msg.resource) continue;
          const view = resourceView(msg.resource);
          // as upstream: sensitive specs never leave the node in a bundle meant to be shared
          docs.push(stringifyYaml({ metadata: view.metadata, spec: def.sensitivity === 'sensitive' ? '<REDACTED>' : view.spec }));
        }
        return docs.length > 0 ? docs.join('---\n') : undefined;
      },
    });
  }
  const services = await client.machine.serviceList({}, { signal });
  for (const svc of services.messages.flatMap((m) => m.services)) {
    base.push(
      { path: `service-logs/${svc.id}.log`, collect: (c, s) => streamText(c.machine.logs({ id: svc.id, tailLines: -1, follow: false, namespace: 'system' }, { signal: s })) },
      { path: `service-logs/${svc.id}.state`, collect: () => Promise.resolve(serviceState(svc)) },
    );
  }
  return base;
}

/** Runs `work` over `items` with at most `workers` at once. */
async function pool<T>(items: readonly T[], workers: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(workers, items.length) }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * `talosctl support`: a zip with, per node, the kernel log, machined's and every service's log and
 * state, all resources (sensitive specs redacted) and a version summary, as upstream's bundle lays
 * them out (`<node>/dmesg.log`, `<node>/resources/<type>.yaml`, `<node>/service-logs/<id>.log`, …).
 * What a node cannot give is listed at the end; the archive is written all the same.
 */
export const registerSupport: CommandRegistrar = (parent: Command, io: CliIo) => {
  parent
    .command('support')
    .description('Dump debug information about the cluster')
    .option('-O, --output <path>', 'output file to write support archive to', 'support.zip')
    .option('-w, --num-workers <n>', 'number of workers per node', '1')
    .option('-v, --verbose', 'verbose output')
    .action(async (opts: { output: string; numWorkers: string; verbose?: boolean }, cmd: Command) => {
      const workers = Number(opts.numWorkers);
      if (!Number.isInteger(workers) || workers < 1) throw new CliError(`invalid argument "${opts.numWorkers}" for "-w, --num-workers" flag: must be a positive integer`);
      if (await exists(opts.output)) throw new CliError(`${opts.output} already exists: remove it or choose another with --output`);
      const zip = new ZipWriter();
      const failures: string[] = [];
      await withApiClient(cmd, async (s) => {
        for (const { node, client } of nodeTargets(s)) {
          let collectors: Collector[];
          try {
            collectors = await nodeCollectors(client, s.signal);
          } catch (err) {
            failures.push(`${node}: ${TalosError.from(err).message}`);
            continue;
          }
          await pool(collectors, workers, async (c) => {
            if (opts.verbose) io.err(`${node}: collect ${c.path}\n`);
            try {
              const text = await c.collect(client, s.signal);
              if (text !== undefined) zip.add(`${node}/${c.path}`, Buffer.from(text));
            } catch (err) {
              failures.push(`${node}: ${c.path}: ${TalosError.from(err).message}`);
            }
          });
        }
      });
      await writeFile(opts.output, zip.finish());
      if (failures.length > 0) io.err(`Processed with errors:\n${failures.map((f) => `\t${f}\n`).join('')}`);
      io.err(`Support bundle is written to ${opts.output}\n`);
    });
};
