#!/usr/bin/env node
// Entry point of a node's VM launcher when run from the checkout: loads the TypeScript sources through tsx.
import { register } from 'tsx/esm/api';

register();
const { vmLauncherMain } = await import('../src/host/vm-launcher.ts');
process.exitCode = await vmLauncherMain(process.argv.slice(2));
