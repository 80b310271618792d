// Local ESLint plugin: the layering rules of docs/ARCHITECTURE.md, checked on every lint.
import path from 'node:path';

/** Which of our packages each package may import. Missing packages may import none. */
export const allowedDeps = {
  cosi: [],
  machinery: ['cosi'],
  testkit: ['cosi', 'machinery'],
  talosctl: ['machinery', 'cosi', 'provision'],
  provision: ['machinery', 'cosi'],
  imager: ['machinery', 'cosi'],
  discovery: ['machinery', 'cosi'],
  machined: ['machinery', 'cosi'],
  apid: ['machinery', 'cosi'],
  trustd: ['machinery', 'cosi'],
};

/** Modules that touch the host: processes, raw sockets, native code. */
const hostModules = new Set(['child_process', 'dgram', 'cluster', 'worker_threads', 'koffi', 'ffi-napi']);

/**
 * Where host-touching code may live, per package: on a node only machined/src/linux; off a node,
 * one named place per package. Paths are relative to the package root.
 */
export const hostPlaces = {
  machined: ['src/linux/'],
  provision: ['src/host/'],
  imager: ['src/build/'],
  talosctl: ['src/host/'],
  testkit: ['src/host/'],
  discovery: [],
  apid: [],
  trustd: [],
  machinery: [],
  cosi: [],
};

const scope = '@talos-ts/';

function locate(filename) {
  const norm = filename.split(path.sep).join('/');
  const m = /(?:^|\/)packages\/([^/]+)\/(.*)$/.exec(norm);
  if (!m) return null;
  return { pkg: m[1], rel: m[2], root: norm.slice(0, norm.length - m[2].length) };
}

function isTestFile(rel) {
  return /\.test\.ts$/.test(rel) || rel.startsWith('bench/') || rel.startsWith('test/');
}

const rule = {
  meta: {
    type: 'problem',
    docs: { description: 'enforce Talos-TS package boundaries and host-access layering' },
    schema: [],
  },
  create(context) {
    const where = locate(context.filename ?? context.getFilename());
    if (!where) return {};
    const { pkg, rel, root } = where;

    function check(node, spec) {
      if (typeof spec !== 'string') return;
      if (spec.startsWith('.')) {
        const target = path.posix.normalize(path.posix.join(path.posix.dirname(root + rel), spec));
        if (!target.startsWith(root)) {
          context.report({ node, message: `'${spec}' reaches outside package '${pkg}'; import '${scope}<pkg>' instead` });
        }
        return;
      }
      if (spec.startsWith(scope)) {
        const [name, ...sub] = spec.slice(scope.length).split('/');
        if (sub.length > 0) {
          context.report({ node, message: `'${spec}' reaches into a package's internals; import '${scope}${name}' only` });
          return;
        }
        // Benchmarks sit outside src/ and measure the package through its public entry point.
        if (name === pkg) {
          if (!rel.startsWith('bench/')) {
            context.report({ node, message: `package '${pkg}' imports itself by name; use a relative import` });
          }
          return;
        }
        const allowed = allowedDeps[pkg] ?? [];
        // Tests and benchmarks of every package (cosi included) may use the testkit; shipped code may not.
        const testOnly = name === 'testkit' && isTestFile(rel);
        if (!allowed.includes(name) && !testOnly) {
          context.report({ node, message: `package '${pkg}' may not import '${spec}' (allowed: ${allowed.join(', ') || 'none'})` });
        }
        return;
      }
      const bare = spec.replace(/^node:/, '').split('/')[0];
      if (hostModules.has(bare) || spec.endsWith('.node')) {
        if (isTestFile(rel)) return;
        const places = hostPlaces[pkg] ?? [];
        if (!places.some((p) => rel.startsWith(p))) {
          context.report({
            node,
            message: `'${spec}' touches the host; in '${pkg}' that is allowed only under ${places.join(', ') || '(nowhere)'}`,
          });
        }
      }
    }

    return {
      ImportDeclaration: (node) => check(node, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
      ExportAllDeclaration: (node) => check(node, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value),
    };
  },
};

const noDefaultExport = {
  meta: { type: 'suggestion', docs: { description: 'named exports only' }, schema: [] },
  create(context) {
    return {
      ExportDefaultDeclaration: (node) => context.report({ node, message: 'use named exports only' }),
    };
  },
};

/** The plugin object ESLint loads. */
export const talosPlugin = { rules: { layering: rule, 'no-default-export': noDefaultExport } };
