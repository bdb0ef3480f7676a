// @vscode/test-cli configuration, for developers with a desktop VS Code:
//   npm run bundle && npx vscode-test
// runs the extension-host mocha suite (test/e2e/host/*.test.ts) in a VS Code
// that @vscode/test-electron downloads. On machines that cannot download VS
// Code the same suite runs inside code-server: test/e2e/host-suite.e2e.ts.

import { defineConfig } from '@vscode/test-cli';
import * as esbuild from 'esbuild';
import { readdirSync } from 'node:fs';

// The suite is TypeScript: bundle it first (vscode stays external).
const entries = readdirSync('test/e2e/host').filter((f) => f.endsWith('.test.ts')).map((f) => `test/e2e/host/${f}`);
await esbuild.build({ entryPoints: entries, outdir: 'out/host-tests', bundle: true, platform: 'node', format: 'cjs', target: 'node20', external: ['vscode'], logLevel: 'warning' });

export default defineConfig({
  label: 'extension host',
  files: 'out/host-tests/*.test.js',
  extensionDevelopmentPath: '.',
  mocha: { ui: 'bdd', timeout: 60_000 },
  launchArgs: ['--disable-extensions'],
});
