#!/usr/bin/env node
/**
 * Second build step (after `tsc -p tsconfig.json`): bundles the CLI with esbuild into dist/src/cli/main.js,
 * in place of tsc's output of that one file, so bin/prepare-endpoint-server loads one small entry module
 * and every later `await import()` loads one chunk (commander, settings, the log, the core with ldapts,
 * @inquirer/prompts) instead of dozens of files. Nothing else in dist/ is touched, so the tests that import
 * dist/src and dist/test keep working, and a plain `tsc` run puts the unbundled main.js back (slower to
 * start, same behaviour).
 *
 * It also renders commander's --help text for an 80-column, non-terminal stdout (what commander prints
 * into a pipe) from the freshly compiled option table, and builds it into the bundle: main() prints it
 * for a lone --help when stdout is not a terminal, without loading commander. At a terminal, commander
 * renders the help for the real width as before.
 *
 * Source maps: dist/src/cli/main.js.map and chunks/*.js.map point into src/; run with
 * NODE_OPTIONS=--enable-source-maps to get stack traces in TypeScript positions.
 */
import { build } from 'esbuild';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'src', 'cli');

// The help text, exactly as commander writes it into a pipe (width 80, no colours).
const { buildProgram } = await import(pathToFileURL(join(outdir, 'options.js')).href);
let help = '';
const program = buildProgram('0.0.0', {
  out: (text) => {
    help += text;
  },
  err: () => undefined,
});
program.configureOutput({ getOutHelpWidth: () => undefined, getOutHasColors: () => false });
try {
  program.parse(['--help'], { from: 'user' });
} catch (error) {
  if (error?.code !== 'commander.helpDisplayed') throw error;
}
if (!help.startsWith('Usage: prepare-endpoint-server')) throw new Error(`unexpected help text: ${help.slice(0, 80)}`);

// The same text as a file, for bin/prepare-endpoint-server to answer a lone --help into a pipe before loading
// any ES module.
writeFileSync(join(outdir, 'pipe-help.txt'), help);

/**
 * `node:tls` loaded when a connection first needs it, not when ldapts is imported: most runs speak plain LDAP
 * to a server on the same host, and loading Node's TLS costs more than the rest of ldapts (measured in
 * BENCHMARKS.md). The bundle's `import * as tls from 'node:tls'` (ldapts', src/ldap's and src/tls') get this
 * CommonJS module instead, whose members load the real one on first use; esbuild reads its getters lazily.
 * Every member node:tls has on the building Node gets a getter (esbuild's interop copies them as getters, read
 * on first use), so a call the code adds later (a certificate check, a new option) needs no change here.
 */
const tlsMembers = Object.keys(await import('node:tls')).filter((name) => name !== 'default');
const LAZY_TLS = `
let tls;
const load = () => (tls ??= require('node:tls'));
module.exports = {
${tlsMembers.map((name) => `  get ${name}() { return load().${name}; },`).join('\n')}
};`;
const lazyTls = {
  name: 'lazy-tls',
  setup(build) {
    build.onResolve({ filter: /^(node:)?tls$/ }, (args) =>
      args.namespace === 'lazy-tls' ? { path: 'node:tls', external: true } : { path: 'tls', namespace: 'lazy-tls' },
    );
    build.onLoad({ filter: /.*/, namespace: 'lazy-tls' }, () => ({ contents: LAZY_TLS, loader: 'js' }));
  },
};

rmSync(join(outdir, 'chunks'), { recursive: true, force: true });
await build({
  entryPoints: { main: join(root, 'src', 'cli', 'main.ts') },
  outdir,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  // Dependencies written as CommonJS (commander) call require(): give the ES module chunks one.
  banner: {
    js: "import { createRequire as __pesCreateRequire } from 'node:module'; const require = __pesCreateRequire(import.meta.url);",
  },
  define: { PES_PIPE_HELP: JSON.stringify(help) },
  plugins: [lazyTls],
  logLevel: 'warning',
  legalComments: 'none',
});
const chunks = readdirSync(join(outdir, 'chunks')).filter((name) => name.endsWith('.js')).length;
console.log(`bundled src/cli/main.ts into dist/src/cli/main.js and ${chunks} chunks`);
