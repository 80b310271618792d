import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * How to start a sibling program: from a bundle (dist/<name>.cjs beside the running code, as in
 * the image and `npm run cluster`), else from the checkout's TypeScript bin.
 */
export function programPath(name: string): string {
  // dist/ has the CommonJS bundles; the image has <name>.cjs start files (its code-cache loader).
  // The bundle puts this code at dist/machined.cjs, so the sibling is next to it.
  const bundled = fileURLToPath(new URL(`./${name}.cjs`, import.meta.url));
  return existsSync(bundled) ? bundled : fileURLToPath(new URL(`../../../../${name}/bin/${name}.js`, import.meta.url));
}
