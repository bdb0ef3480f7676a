// A test-runner extension for code-server: when the extension host starts it
// runs the mocha suite that was bundled next to it (out/*.test.js) and
// writes the results as JSON where runner.json says. code-server cannot take
// VS Code's extensionTestsPath from a browser the way a desktop VS Code
// takes it from @vscode/test-cli, so the suite rides in an extension.

import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

interface RunnerConfig {
  mochaPath: string;
  resultsPath: string;
}

export interface HostResults {
  passed: string[];
  failed: Array<{ title: string; error: string }>;
  pending: string[];
}

interface MochaRunner {
  on(ev: 'pass' | 'pending', fn: (t: { fullTitle(): string }) => void): MochaRunner;
  on(ev: 'fail', fn: (t: { fullTitle(): string }, err: Error) => void): MochaRunner;
}
interface MochaCtor {
  new (opts: { ui: string; timeout: number; color: boolean; reporter: string }): {
    addFile(f: string): void;
    run(done: (failures: number) => void): MochaRunner;
  };
}

export function activate(): void {
  const cfg = JSON.parse(readFileSync(join(__dirname, '..', 'runner.json'), 'utf8')) as RunnerConfig;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Mocha = require(cfg.mochaPath) as MochaCtor;
  const mocha = new Mocha({ ui: 'bdd', timeout: 60_000, color: false, reporter: 'spec' });
  for (const f of readdirSync(__dirname).filter((n) => n.endsWith('.test.js')).sort()) mocha.addFile(join(__dirname, f));
  const results: HostResults = { passed: [], failed: [], pending: [] };
  mocha.run(() => writeFileSync(cfg.resultsPath, JSON.stringify(results, null, 2)))
    .on('pass', (t) => results.passed.push(t.fullTitle()))
    .on('pending', (t) => results.pending.push(t.fullTitle()))
    .on('fail', (t, err) => results.failed.push({ title: t.fullTitle(), error: err.stack ?? err.message }));
}

export function deactivate(): void {}
