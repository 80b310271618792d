import { Option, type Command } from 'commander';
import { machinePb } from '@talos-ts/machinery';
import { NodeErrors, withApiClient } from '../../api.ts';
import { CliError, listFlag, type CliIo, type CommandRegistrar } from '../../cli.ts';
import { TabWriter } from '../../output/table.ts';
import { humanBytes } from '../etcd/etcd.ts';

interface ListFlags {
  long?: boolean;
  recurse?: boolean;
  depth: string;
  humanize?: boolean;
  type: string[];
}

/** Go's os.FileMode.String(): type letters (`dLDpSugct?`) then `rwx` triplets. */
export function goModeString(mode: number): string {
  const letters = 'dalTLDpSugct?';
  let out = '';
  for (let i = 0; i < letters.length; i++) if (mode & (1 << (31 - i))) out += letters[i];
  if (out === '') out = '-';
  const rwx = 'rwxrwxrwx';
  for (let i = 0; i < 9; i++) out += mode & (1 << (8 - i)) ? rwx[i] : '-';
  return out;
}

const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad2 = (n: number): string => String(n).padStart(2, '0');

/** Modification time as upstream's `ls -l`: "Jan _2 15:04:05" within six months, else "Jan _2 2006 15:04". */
function lastModified(unixSeconds: bigint, humanize: boolean): string {
  const d = new Date(Number(unixSeconds) * 1000);
  const ageMs = Date.now() - d.getTime();
  if (humanize) {
    const s = Math.max(0, Math.round(ageMs / 1000));
    if (s < 60) return `${s} seconds ago`;
    if (s < 3600) return `${Math.floor(s / 60)} minutes ago`;
    if (s < 86400) return `${Math.floor(s / 3600)} hours ago`;
    return `${Math.floor(s / 86400)} days ago`;
  }
  const day = String(d.getDate()).padStart(2, ' ');
  const time = `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
  return ageMs < 182 * 86400_000 ? `${months[d.getMonth()]} ${day} ${time}:${pad2(d.getSeconds())}` : `${months[d.getMonth()]} ${day} ${d.getFullYear()} ${time}`;
}

/** Upstream's `-t` letters: `find -type` style f, d, l/L, in any grouping (`-t fl`, `--type=f,d`). */
export function parseTypes(values: readonly string[]): machinePb.ListRequest_Type[] {
  const out: machinePb.ListRequest_Type[] = [];
  for (const v of values) {
    for (const c of v) {
      if (c === 'f') out.push(machinePb.ListRequest_Type.REGULAR);
      else if (c === 'd') out.push(machinePb.ListRequest_Type.DIRECTORY);
      else if (c === 'l' || c === 'L') out.push(machinePb.ListRequest_Type.SYMLINK);
      else throw new CliError(`invalid file type: ${c}`);
    }
  }
  return out;
}

/** `talosctl list [path]` (alias `ls`): a directory listing of the nodes. */
export const registerList: CommandRegistrar = (parent: Command, io: CliIo) => {
  parent
    .command('list')
    .alias('ls')
    .description('Retrieve a directory listing')
    .argument('[path]', 'directory on the node', '/')
    .option('-l, --long', 'display additional file details')
    .option('-r, --recurse', 'recurse into subdirectories')
    .option('-H, --humanize', 'humanize size and time in the output')
    .addOption(new Option('-d, --depth <depth>', 'maximum recursion depth').default('1'))
    .option('-t, --type <types>', 'filter by specified types: f (regular file), d (directory), l, L (symbolic link)', listFlag, [])
    .action(async (root: string, opts: ListFlags, cmd: Command) => {
      const depthFlag = Number(opts.depth);
      if (!Number.isInteger(depthFlag)) throw new CliError(`invalid argument "${opts.depth}" for "-d, --depth" flag: not an integer`);
      if (opts.recurse && depthFlag !== 1) throw new CliError('only one of flags --recurse and --depth can be specified at the same time');
      const types = parseTypes(opts.type);
      const depth = opts.recurse ? -1 : depthFlag;
      await withApiClient(cmd, async (s) => {
        const multi = s.nodes.length > 1;
        const errors = new NodeErrors();
        const w = new TabWriter(io.out);
        let header = false;
        const stream = s.client.machine.list(
          { root, recurse: depth > 1 || opts.recurse === true, recursionDepth: depth, types, reportXattrs: opts.long === true },
          { signal: s.signal },
        );
        for await (const info of stream) {
          if (errors.check(info.metadata, s.nodeName)) continue;
          const node = s.nodeName(info.metadata?.hostname);
          if (info.error !== '') {
            errors.add(node, new Error(`error reading file ${info.name}: ${info.error}`));
            continue;
          }
          if (!opts.long) {
            if (!multi) {
              io.out(`${info.relativeName}\n`);
              continue;
            }
            if (!header) w.row(['NODE', 'NAME']);
            header = true;
            w.row([node, info.relativeName]);
            continue;
          }
          if (!header) w.row(['NODE', 'MODE', 'UID', 'GID', 'SIZE(B)', 'LASTMOD', 'LABEL', 'NAME']);
          header = true;
          const label = info.xattrs.find((x) => x.name === 'security.selinux');
          w.row([
            node,
            goModeString(info.mode),
            String(info.uid),
            String(info.gid),
            opts.humanize ? humanBytes(Number(info.size)) : String(info.size),
            lastModified(info.modified, opts.humanize === true),
            label ? Buffer.from(label.data).toString('utf8').replace(/[\0\n]+$/, '') : '',
            info.link !== '' ? `${info.relativeName} -> ${info.link}` : info.relativeName,
          ]);
        }
        if (header) w.flush();
        errors.throwIfAny();
      });
    });
};
