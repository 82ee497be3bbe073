// Bundles the extension into out/extension.js (vscode itself stays external), and SHIM's
// jscpd runner (shim_lsp/analysis/jscpd_runner.js) with jscpd's detector into
// out/jscpd-runner.js, which VS Code's own Node.js runs for the server (duplicate code).
import * as esbuild from 'esbuild';
import * as path from 'node:path';

const production = process.argv.includes('--production');

await esbuild.build({
  entryPoints: ['src/extension.ts'],
  bundle: true,
  outfile: 'out/extension.js',
  external: ['vscode'],
  format: 'cjs',
  platform: 'node',
  target: 'node18',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
});

await esbuild.build({
  entryPoints: ['../shim_lsp/analysis/jscpd_runner.js'],
  bundle: true,
  outfile: 'out/jscpd-runner.js',
  // The runner sits in the Python package, outside this folder: jscpd comes from here.
  nodePaths: [path.resolve('node_modules')],
  format: 'cjs',
  platform: 'node',
  target: 'node18',
  minify: production,
  legalComments: 'inline',
  logLevel: 'warning',
});
