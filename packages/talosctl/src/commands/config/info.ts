import type { Command } from 'commander';
import { parseCertificate } from '@talos-ts/machinery';
import { stringify as stringifyYaml } from 'yaml';
import { CliError, type CliIo, type CommandRegistrar } from '../../cli.ts';
import { configGroup, openConfig, selectedContext } from './config.ts';

const second = 1000;
const minute = 60 * second;
const hour = 60 * minute;
const day = 24 * hour;
const week = 7 * day;
const month = 30 * day;
const year = 12 * month;

/** Relative time in go-humanize's words ("1 year from now", "3 days ago"), which upstream prints. */
export function relativeTime(then: Date, now: Date): string {
  let diff = then.getTime() - now.getTime();
  const label = diff >= 0 ? 'from now' : 'ago';
  diff = Math.abs(diff);
  const steps: [number, (n: number) => string, number][] = [
    [second, () => 'now', 1],
    [2 * second, () => '1 second', 1],
    [minute, (n) => `${n} seconds`, second],
    [2 * minute, () => '1 minute', 1],
    [hour, (n) => `${n} minutes`, minute],
    [2 * hour, () => '1 hour', 1],
    [day, (n) => `${n} hours`, hour],
    [2 * day, () => '1 day', 1],
    [week, (n) => `${n} days`, day],
    [2 * week, () => '1 week', 1],
    [month, (n) => `${n} weeks`, week],
    [2 * month, () => '1 month', 1],
    [year, (n) => `${n} months`, month],
    [18 * month, () => '1 year', 1],
    [2 * year, () => '2 years', 1],
    [37 * year, (n) => `${n} years`, year],
  ];
  for (const [limit, words, unit] of steps) {
    if (diff < limit) {
      const text = words(Math.floor(diff / unit));
      return text === 'now' ? 'now' : `${text} ${label}`;
    }
  }
  return 'a long while';
}

interface Info {
  context: string;
  nodes: string[];
  endpoints: string[];
  roles: string[];
  certTTL: string;
  certNotAfter: string;
}

/** `talosctl config info`: the selected context's endpoints, nodes, roles and certificate expiry. */
export const registerConfigInfo: CommandRegistrar = (parent: Command, io: CliIo) => {
  configGroup(parent)
    .command('info')
    .description('Show information about the current context')
    .option('-o, --output <format>', 'output format (json|yaml|text). Default text.', 'text')
    .action(async (opts: { output: string }, cmd: Command) => {
      const { config } = await openConfig(cmd);
      const { context } = selectedContext(cmd, config);
      const info: Info = {
        context: config.context,
        nodes: [...(context.nodes ?? [])],
        endpoints: [...context.endpoints],
        roles: [],
        certTTL: '',
        certNotAfter: '',
      };
      if (context.crt) {
        try {
          const cert = parseCertificate(Buffer.from(context.crt, 'base64').toString('utf8'));
          info.roles = [...(cert.subject.organizations ?? [])];
          info.certTTL = relativeTime(cert.notAfter, new Date());
          info.certNotAfter = cert.notAfter.toISOString().slice(0, 10);
        } catch (err) {
          throw new CliError(`error parsing client certificate: ${(err as Error).message}`);
        }
      }
      switch (opts.output) {
        case 'json':
          io.out(`${JSON.stringify(info, null, 2)}\n`);
          return;
        case 'yaml':
          io.out(stringifyYaml(info, { indent: 4 }));
          return;
        case 'text': {
          const lines = [
            `Current context:     ${info.context}`,
            `Nodes:               ${info.nodes.length > 0 ? info.nodes.join(', ') : 'not defined'}`,
            `Endpoints:           ${info.endpoints.length > 0 ? info.endpoints.join(', ') : 'not defined'}`,
          ];
          if (info.roles.length > 0) lines.push(`Roles:               ${info.roles.join(', ')}`);
          if (info.certTTL) lines.push(`Certificate expires: ${info.certTTL} (${info.certNotAfter})`);
          io.out(`${lines.join('\n')}\n`);
          return;
        }
        default:
          throw new CliError(`unknown output format: "${opts.output}"`);
      }
    });
};
