#!/usr/bin/env node
// Entry point of the loopback forwarder when run from the checkout: loads the TypeScript sources through tsx.
import { register } from 'tsx/esm/api';

register();
const { forwarderMain } = await import('../src/host/forwarder.ts');
process.exitCode = await forwarderMain(process.argv.slice(2));
