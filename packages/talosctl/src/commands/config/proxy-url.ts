import type { Command } from 'commander';
import type { TalosconfigContext } from '@talos-ts/machinery';
import { CliError, type CliIo, type CommandRegistrar } from '../../cli.ts';
import { configGroup, openConfig, selectedContext, withContext, writeConfig } from './config.ts';

const schemes = ['socks5:', 'http:', 'https:'];

/** Checks a proxy URL up front so a typo is caught here, not at the next API call. */
function checkProxyUrl(value: string): void {
  if (value === '' || value === 'direct') return;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new CliError(`invalid proxy URL ${JSON.stringify(value)}: not a URL (use socks5://, http://, https:// or "direct")`);
  }
  if (!schemes.includes(url.protocol)) {
    throw new CliError(`invalid proxy URL ${JSON.stringify(value)}: scheme ${JSON.stringify(url.protocol.replace(/:$/, ''))} is not supported (socks5, http, https)`);
  }
}

/** `talosctl config proxy-url [url]`: shows, sets or (with "") clears the selected context's proxy URL. */
export const registerConfigProxyUrl: CommandRegistrar = (parent: Command, io: CliIo) => {
  configGroup(parent)
    .command('proxy-url')
    .argument('[url]')
    .description('Set the proxy URL for the current context')
    .addHelpText(
      'after',
      '\nSupported schemes: socks5, http, https.\nUse "direct" to bypass any proxy, including ones from the environment.\n' +
        'Pass an empty string to clear the proxy URL; omit the argument to show it.\n',
    )
    .action(async (url: string | undefined, _opts: unknown, cmd: Command) => {
      const { path, config } = await openConfig(cmd);
      const { name, context } = selectedContext(cmd, config);
      if (url === undefined) {
        io.out(`${context.proxyUrl ?? ''}\n`);
        return;
      }
      const value = url.trim();
      checkProxyUrl(value);
      const { proxyUrl: _old, ...rest } = context;
      const next: TalosconfigContext = value === '' ? rest : { ...rest, proxyUrl: value };
      await writeConfig(path, withContext(config, name, next));
    });
};
