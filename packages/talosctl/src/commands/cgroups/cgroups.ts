import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { Command } from 'commander';
import { extract } from 'tar-stream';
import { withApiClient, type ApiSession } from '../../api.ts';
import { CliError, type CliIo, type CommandRegistrar } from '../../cli.ts';
import { TabWriter } from '../../output/table.ts';
import { containerTarget } from '../containers/containers.ts';
import { requireOneNode } from '../etcd/etcd.ts';
import { addDir, addFile, newNode, presets, renderTree, type CgroupNode } from './tree.ts';

/** Where the node mounts cgroup v2 (upstream's constant). */
const CGROUP_MOUNT = '/sys/fs/cgroup';
/** Interface files are small; a bigger entry is not a cgroup file and is not read. */
const MAX_FILE_BYTES = 1 << 20;

/** Reads a gzip-compressed tar stream into memory: directories and regular files (as text) by relative path. */
async function readTarGz(source: AsyncIterable<Uint8Array>, onEntry: (e: { type: 'dir' | 'file' | 'symlink'; name: string; content: string; link: string }) => void): Promise<void> {
  const untar = extract();
  untar.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (data: unknown) => {
      const c = data as Buffer;
      size += c.length;
      if (size <= MAX_FILE_BYTES) chunks.push(c);
    });
    stream.on('end', () => {
      const type = header.type === 'directory' ? 'dir' : header.type === 'symlink' ? 'symlink' : header.type === 'file' ? 'file' : undefined;
      if (type) onEntry({ type, name: header.name, content: Buffer.concat(chunks).toString('utf8'), link: header.linkname ?? '' });
      next();
    });
    stream.resume();
  });
  await pipeline(Readable.from(source), createGunzip(), untar);
}

async function* copyBytes(s: ApiSession, path: string): AsyncIterable<Uint8Array> {
  for await (const chunk of s.client.machine.copy({ rootPath: path }, { signal: s.signal })) {
    if (chunk.metadata?.error) throw new CliError(chunk.metadata.error);
    yield chunk.bytes;
  }
}

/**
 * The node's cgroup v2 tree. On a host with the hybrid layout (v1 controllers at /sys/fs/cgroup,
 * v2 at /sys/fs/cgroup/unified, as systemd sets it up) the v2 part is shown; a Talos node always
 * mounts v2 at /sys/fs/cgroup.
 */
async function cgroupTree(s: ApiSession): Promise<CgroupNode> {
  const root = newNode();
  await readTarGz(copyBytes(s, CGROUP_MOUNT), (e) => {
    if (e.type === 'dir') addDir(root, e.name);
    else if (e.type === 'file') addFile(root, e.name, e.content);
  });
  if (root.files.has('cgroup.controllers')) return root;
  const unified = root.children.get('unified');
  if (unified?.files.has('cgroup.controllers')) return unified;
  throw new CliError(`${CGROUP_MOUNT} on the node is not a cgroup v2 hierarchy`);
}

/** Process names by pid, as upstream resolves cgroup.procs: the executable's base name, else the command. */
async function processNames(s: ApiSession, io: CliIo): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  try {
    const res = await s.client.machine.processes({}, { signal: s.signal });
    for (const p of res.messages[0]?.processes ?? []) {
      const name = p.executable || p.command || (p.args.split(/\s+/)[0] ?? '');
      out.set(String(p.pid), basename(name));
    }
  } catch (err) {
    io.err(`warning: error getting processes: ${(err as Error).message}\n`);
  }
  return out;
}

/** Block device names by major:minor, from the symlinks under the node's /sys/dev/block. */
async function deviceNames(s: ApiSession, io: CliIo): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  try {
    await readTarGz(copyBytes(s, '/sys/dev/block'), (e) => {
      if (e.type === 'symlink') out.set(e.name, basename(e.link));
    });
  } catch (err) {
    io.err(`warning: error copying devices: ${(err as Error).message}\n`);
  }
  return out;
}

/** Names for the cgroups of Kubernetes containers: container id → container name ("sandbox" for a pod's sandbox). */
async function containerNames(s: ApiSession, io: CliIo): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  try {
    const res = await s.client.machine.containers(containerTarget(true), { signal: s.signal });
    for (const c of res.messages[0]?.containers ?? []) {
      if (c.uid !== '' && c.podId !== '') out.set(`pod${c.uid}`, c.podId);
      if (c.internalId !== '') out.set(c.internalId, c.podId === c.name ? 'sandbox' : c.name);
    }
  } catch (err) {
    io.err(`warning: error getting containers: ${(err as Error).message}\n`);
  }
  return out;
}

function renameCgroups(node: CgroupNode, names: ReadonlyMap<string, string>): void {
  for (const [name, child] of [...node.children]) {
    renameCgroups(child, names);
    const to = names.get(name);
    if (to !== undefined && !node.children.has(to)) {
      node.children.delete(name);
      node.children.set(to, child);
    }
  }
}

/**
 * `talosctl cgroups` (alias `cg`): the node's cgroup v2 tree with one of upstream's presets
 * (cpu, cpuset, io, memory, process, psi, swap). As upstream, the tree is copied with the Copy RPC
 * (so it needs os:admin) and names are resolved on the client from Processes, /sys/dev/block and
 * the Kubernetes containers. Upstream's --schema-file (Go templates) is not supported.
 */
export const registerCgroups: CommandRegistrar = (parent: Command, io: CliIo) => {
  const names = Object.keys(presets).sort();
  parent
    .command('cgroups')
    .alias('cg')
    .description('Retrieve cgroups usage information')
    .option('--preset <name>', `preset name (one of: [${names.join(' ')}])`)
    .option('--schema-file <path>', 'path to the columns schema file (not supported yet)')
    .option('--skip-cri-resolve', 'do not resolve cgroup names via a request to CRI')
    .action(async (opts: { preset?: string; schemaFile?: string; skipCriResolve?: boolean }, cmd: Command) => {
      if (opts.schemaFile !== undefined && opts.preset !== undefined) throw new CliError('if any flags in the group [schema-file preset] are set none of the others can be; [preset schema-file] were all set');
      if (opts.schemaFile !== undefined) throw new CliError('--schema-file is not supported yet (upstream renders Go templates): use --preset');
      if (opts.preset === undefined) throw new CliError('either schema file or preset must be specified');
      const columns = presets[opts.preset];
      if (!columns) throw new CliError(`invalid preset name: ${opts.preset} (valid [${names.join(' ')}])`);
      await withApiClient(cmd, async (s) => {
        requireOneNode(s.nodes, 'cgroups');
        const [procs, devices] = [await processNames(s, io), await deviceNames(s, io)];
        const tree = await cgroupTree(s);
        if (!opts.skipCriResolve) renameCgroups(tree, await containerNames(s, io));
        const w = new TabWriter(io.out);
        w.row(['NAME', ...columns.map((c) => c.name)]);
        for (const row of renderTree(tree, columns, { processName: (pid) => procs.get(pid) ?? pid, deviceName: (d) => devices.get(d) ?? d })) w.row(row);
        w.flush();
      });
    });
};
