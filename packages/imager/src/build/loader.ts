/**
 * The image's start file of a Node program (`/usr/lib/talos/<name>.cjs`): it runs the CommonJS
 * bundle beside it (`<name>.bundle.cjs`) through V8's code cache (`<name>.bundle.cjs.cache`),
 * written when the image is built by running the program once with TALOS_WRITE_CODE_CACHE=1.
 * Under emulation (QEMU TCG) parsing and compiling a 1-2 MB bundle is a large part of a start-up;
 * a missing or rejected cache (another Node, other V8 flags) only costs that compile.
 */
export function programLoader(name: string): string {
  return `'use strict';
// Talos-TS: starts ${name}.bundle.cjs through V8's code cache; see packages/imager/src/build/loader.ts.
const { readFileSync, writeFileSync } = require('node:fs');
const { Script } = require('node:vm');
const Module = require('node:module');
const { join } = require('node:path');
const file = join(__dirname, ${JSON.stringify(`${name}.bundle.cjs`)});
let cachedData;
try {
  cachedData = readFileSync(file + '.cache');
} catch {}
const script = new Script(Module.wrap(readFileSync(file, 'utf8')), cachedData ? { filename: file, cachedData } : { filename: file });
if (cachedData && script.cachedDataRejected) process.stderr.write(${JSON.stringify(`${name}: code cache rejected\n`)});
if (process.env.TALOS_WRITE_CODE_CACHE === '1') process.once('exit', () => writeFileSync(file + '.cache', script.createCachedData()));
const bundle = new Module(file, module);
bundle.filename = file;
bundle.paths = module.paths;
script.runInThisContext()(bundle.exports, Module.createRequire(file), bundle, file, __dirname);
`;
}
