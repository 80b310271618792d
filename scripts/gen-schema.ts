// Writes packages/machinery/schema/config.schema.json from the config descriptor table.
// A test fails when the checked-in file differs, so run `npm run gen:schema` after changing fields.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { configJsonSchemaText } from '@talos-ts/machinery';

const root = new URL('..', import.meta.url).pathname;
const out = join(root, 'packages/machinery/schema/config.schema.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, configJsonSchemaText());
console.log(`wrote ${out}`);
