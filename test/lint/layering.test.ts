import { test } from 'node:test';
import { RuleTester } from 'eslint';
import tseslint from 'typescript-eslint';
import { talosPlugin } from '../../eslint-rules/layering.js';

const tester = new RuleTester({ languageOptions: { parser: tseslint.parser, sourceType: 'module' } });
const rule = talosPlugin.rules.layering;

test('layering rule: import violations of the layering rules (docs/ARCHITECTURE.md) fail lint', () => {
  tester.run('layering', rule, {
    valid: [
      { filename: '/r/packages/machinery/src/a.ts', code: "import { x } from '@talos-ts/cosi';" },
      { filename: '/r/packages/cosi/src/a.ts', code: "import { x } from './b.ts';" },
      { filename: '/r/packages/machined/src/linux/mount.ts', code: "import { spawn } from 'node:child_process';" },
      { filename: '/r/packages/provision/src/host/netns.ts', code: "import { spawn } from 'child_process';" },
      { filename: '/r/packages/machinery/src/a.test.ts', code: "import { x } from '@talos-ts/testkit';" },
    ],
    invalid: [
      { filename: '/r/packages/cosi/src/a.ts', code: "import { x } from '@talos-ts/machinery';", errors: 1 },
      { filename: '/r/packages/talosctl/src/a.ts', code: "import { x } from '@talos-ts/machined';", errors: 1 },
      { filename: '/r/packages/provision/src/a.ts', code: "import { x } from '@talos-ts/apid';", errors: 1 },
      { filename: '/r/packages/imager/src/a.ts', code: "import { x } from '@talos-ts/trustd';", errors: 1 },
      { filename: '/r/packages/machinery/src/a.ts', code: "import { x } from '@talos-ts/cosi/src/state.ts';", errors: 1 },
      { filename: '/r/packages/machinery/src/a.ts', code: "import { x } from '../../cosi/src/state.ts';", errors: 1 },
      { filename: '/r/packages/machined/src/system/run.ts', code: "import { spawn } from 'node:child_process';", errors: 1 },
      { filename: '/r/packages/machined/src/server/x.ts', code: "const a = await import('node:dgram');", errors: 1 },
      { filename: '/r/packages/machinery/src/a.ts', code: "export * from '@talos-ts/machined';", errors: 1 },
    ],
  });
});
