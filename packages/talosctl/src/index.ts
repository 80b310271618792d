export { main, buildProgram } from './main.ts';
export { CliError } from './cli.ts';
export type { CliIo, CommandRegistrar } from './cli.ts';
