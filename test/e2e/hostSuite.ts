// Builds the extension-host mocha suite (test/e2e/host/*.test.ts) for the
// two ways it runs: bundled into a small runner extension for code-server
// (hostRunnerVsix), or as plain files for @vscode/test-cli (.vscode-test.mjs
// calls buildHostTests).

import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { REPO } from './env';
import { vscePackage } from './vsix';

const HOST_DIR = join(REPO, 'test', 'e2e', 'host');

/** Bundles every host/*.test.ts into `outDir` (CommonJS, `vscode` external). */
export async function buildHostTests(outDir: string): Promise<string[]> {
  const entries = readdirSync(HOST_DIR).filter((f) => f.endsWith('.test.ts')).map((f) => join(HOST_DIR, f));
  await esbuild.build({ entryPoints: entries, outdir: outDir, bundle: true, platform: 'node', format: 'cjs', target: 'node20', external: ['vscode'], logLevel: 'warning' });
  return entries;
}

/** A .vsix of the runner extension carrying the suite; it writes its results to `resultsPath`. */
export async function hostRunnerVsix(outFile: string, resultsPath: string): Promise<void> {
  const stage = mkdtempSync(join(tmpdir(), 'hefery-host-runner-'));
  try {
    writeFileSync(join(stage, 'package.json'), JSON.stringify({
      name: 'hefery-host-tests',
      displayName: 'Hefery extension-host tests',
      publisher: 'hefery',
      version: '0.0.1',
      private: true,
      engines: { vscode: '^1.95.0' },
      main: './out/runner.js',
      activationEvents: ['onStartupFinished'],
      extensionDependencies: ['hefery.hefery'],
    }, null, 2));
    writeFileSync(join(stage, 'README.md'), '# Hefery extension-host tests\n\nRuns test/e2e/host/*.test.ts inside VS Code.\n');
    writeFileSync(join(stage, 'runner.json'), JSON.stringify({ mochaPath: join(REPO, 'node_modules', 'mocha'), resultsPath }));
    await esbuild.build({ entryPoints: [join(HOST_DIR, 'runner.ts')], outfile: join(stage, 'out', 'runner.js'), bundle: true, platform: 'node', format: 'cjs', target: 'node20', external: ['vscode'], logLevel: 'warning' });
    await buildHostTests(join(stage, 'out'));
    await vscePackage(stage, outFile);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}
