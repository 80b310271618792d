import type { Command } from 'commander';
import {
  cosiStatePb,
  findResourceDefinition,
  listResourceDefinitions,
  resourceView,
  type ResourceDefinitionInfo,
  type TalosClient,
} from '@talos-ts/machinery';
import { Code, TalosError } from '@talos-ts/cosi';
import { withApiClient, NodeErrors } from '../../api.ts';
import type { CliIo, CommandRegistrar } from '../../cli.ts';
import { resourceWriter, type ResourceEvent, type ResourceWriter } from '../../output/resources.ts';
import { nodeTargets } from '../../targets.ts';

interface GetFlags {
  namespace?: string;
  output: string;
  watch?: boolean;
  insecure?: boolean;
}

async function definitionFor(client: TalosClient, type: string, signal: AbortSignal): Promise<ResourceDefinitionInfo> {
  return findResourceDefinition(await listResourceDefinitions(client, { signal }), type);
}

const eventNames: Partial<Record<cosiStatePb.EventType, ResourceEvent>> = {
  [cosiStatePb.EventType.CREATED]: 'created',
  [cosiStatePb.EventType.UPDATED]: 'updated',
  [cosiStatePb.EventType.DESTROYED]: 'destroyed',
};

/** `talosctl get <type> [<id>]`: resources of every targeted node, optionally watched. */
export const registerGet: CommandRegistrar = (parent: Command, io: CliIo) => {
  parent
    .command('get')
    .alias('g')
    .description('Get a specific resource or list of resources (use \'talosctl get rd\' to list all resource types)')
    .argument('<type>', 'resource type or alias')
    .argument('[id]', 'resource id')
    .option('--namespace <namespace>', 'resource namespace (default is to use default namespace per resource)')
    .option('-o, --output <format>', 'output mode (json, table, yaml, jsonpath)', 'table')
    .option('-w, --watch', 'watch resource changes')
    .option('-i, --insecure', 'get resources using the insecure (encrypted with no auth) maintenance service')
    .action(async (type: string, id: string | undefined, flags: GetFlags, cmd: Command) => {
      const out = resourceWriter(flags.output, io.out);
      await withApiClient(
        cmd,
        async (s) => {
          const errors = new NodeErrors();
          let headerWritten = false;
          const header = (def: ResourceDefinitionInfo, w: ResourceWriter, events: boolean): void => {
            if (headerWritten) return;
            headerWritten = true;
            w.header(def, events);
          };
          const targets = nodeTargets(s);
          if (flags.watch) {
            await Promise.all(
              targets.map(async ({ node, client }) => {
                try {
                  const def = await definitionFor(client, type, s.signal);
                  const namespace = flags.namespace ?? def.defaultNamespace;
                  const stream = client.resources.watch(
                    { namespace, type: def.type, ...(id !== undefined ? { id } : {}), options: { bootstrapContents: true }, apiVersion: 1 },
                    { signal: s.signal },
                  );
                  for await (const msg of stream) {
                    for (const ev of msg.event) {
                      if (ev.eventType === cosiStatePb.EventType.ERRORED) throw new TalosError(Code.Internal, ev.error ?? 'watch failed');
                      const name = eventNames[ev.eventType];
                      if (!name || !ev.resource) continue;
                      header(def, out, true);
                      out.resource(node, resourceView(ev.resource), name);
                      out.flush();
                    }
                  }
                } catch (err) {
                  if (s.signal.aborted) return;
                  errors.add(node, err);
                }
              }),
            );
            errors.throwIfAny();
            return;
          }
          for (const { node, client } of targets) {
            try {
              const def = await definitionFor(client, type, s.signal);
              const namespace = flags.namespace ?? def.defaultNamespace;
              header(def, out, false);
              if (id !== undefined) {
                const res = await client.resources.get({ namespace, type: def.type, id }, { signal: s.signal });
                if (res.resource) out.resource(node, resourceView(res.resource), undefined);
              } else {
                for await (const msg of client.resources.list({ namespace, type: def.type }, { signal: s.signal })) {
                  if (msg.resource) out.resource(node, resourceView(msg.resource), undefined);
                }
              }
            } catch (err) {
              errors.add(node, err);
            }
          }
          out.flush();
          errors.throwIfAny();
        },
        { insecure: flags.insecure === true },
      );
    });
};
