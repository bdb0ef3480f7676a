// The extension-host mocha suite (test/e2e/host/) inside a real VS Code:
// code-server with the packaged extension and a runner extension that runs
// the suite when the extension host starts (a browser connecting starts it).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCodeServer, type CodeServer } from './codeServer';
import { missingPrerequisite } from './env';
import { hostRunnerVsix } from './hostSuite';
import type { HostResults } from './host/runner';
import { packageExtension } from './vsix';
import { Workbench } from './workbench';
import { waitUntil } from '../fixtures/wait';

const skip = missingPrerequisite() ?? false;
let dir = '';
let cs: CodeServer | undefined;
let wb: Workbench | undefined;

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'hefery-host-suite-'));
}, { timeout: 60_000 });

after(async () => {
  await wb?.close();
  await cs?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, { timeout: 60_000 });

test('the extension-host suite passes inside code-server', { skip, timeout: 400_000 }, async (t) => {
  const results = join(dir, 'results.json');
  const [ext, runner] = [join(dir, 'hefery.vsix'), join(dir, 'runner.vsix')];
  await Promise.all([packageExtension(ext), hostRunnerVsix(runner, results)]);
  cs = await startCodeServer({ vsix: [ext, runner], settings: { 'hefery.hosts': [] } });
  wb = await Workbench.open(cs.url);
  await waitUntil('the results of the extension host', () => existsSync(results), 180_000, () => `code-server said:\n${cs!.log().slice(-3000)}`);
  const r = JSON.parse(readFileSync(results, 'utf8')) as HostResults;
  await wb.screenshot('host-suite');
  for (const p of r.passed) t.diagnostic(`passed in the extension host: ${p}`);
  assert.deepEqual(r.failed, [], r.failed.map((f) => `${f.title}\n${f.error}`).join('\n\n'));
  assert.ok(r.passed.length >= 4, `passed: ${r.passed.join(', ')}`);
});
