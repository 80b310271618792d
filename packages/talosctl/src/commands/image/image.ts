import type { Command } from 'commander';
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { commonPb } from '@talos-ts/machinery';
import { NodeErrors, withApiClient } from '../../api.ts';
import { CliError, type CliIo, type CommandRegistrar } from '../../cli.ts';
import { TabWriter } from '../../output/table.ts';
import { humanBytes } from '../etcd/etcd.ts';

/** The API namespace of `--namespace` (upstream's names: cri, system). */
export function imageNamespace(flag: string): commonPb.ContainerdNamespace {
  switch (flag) {
    case 'cri':
      return commonPb.ContainerdNamespace.NS_CRI;
    case 'system':
      return commonPb.ContainerdNamespace.NS_SYSTEM;
    default:
      throw new CliError(`unsupported namespace "${flag}"`);
  }
}

/** A time as Go's RFC 3339 layout prints it in UTC (seconds, `Z`). */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `talosctl image` (alias `images`) with `list` (aliases `l`, `ls`): containerd's images per node. */
export const registerImage: CommandRegistrar = (parent: Command, io: CliIo) => {
  const image = parent.command('image').alias('images').description('Manage container images');
  image
    .command('list')
    .aliases(['l', 'ls'])
    .description("List images in the machine's container runtime")
    .option('--namespace <namespace>', 'containerd namespace: system (the images of Talos itself) or cri (those of Kubernetes workloads)', 'cri')
    .action(async (opts: { namespace: string }, cmd: Command) => {
      const namespace = imageNamespace(opts.namespace);
      await withApiClient(cmd, async (s) => {
        const errors = new NodeErrors();
        const w = new TabWriter(io.out);
        w.row(['NODE', 'IMAGE', 'DIGEST', 'SIZE', 'CREATED']);
        for await (const m of s.client.machine.imageList({ namespace }, { signal: s.signal })) {
          if (errors.check(m.metadata, s.nodeName)) continue;
          const created = m.createdAt ? rfc3339(timestampDate(m.createdAt)) : rfc3339(new Date(0));
          w.row([s.nodeName(m.metadata?.hostname), m.name, m.digest, humanBytes(Number(m.size)), created]);
        }
        w.flush();
        errors.throwIfAny();
      });
    });
};
