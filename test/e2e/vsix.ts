// Packages the extension as a .vsix with @vscode/vsce, from a staging folder
// holding exactly what ships (the bundles, media, the manifest, a short
// README), so the package never picks up sources, caches or the agent.

import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO } from './env';

const execFileP = promisify(execFile);

const README = `# Hefery

HMM-guided failure recovery for replicated VMs: the hosts running hefery-agent,
their domains' risk and checkpoint intervals, over SSH. See the project's README.
`;

/** Runs `vsce package` in `dir` (a folder holding package.json and what ships). */
export async function vscePackage(dir: string, outFile: string): Promise<void> {
  const vsce = join(REPO, 'node_modules', '@vscode', 'vsce', 'vsce');
  await execFileP(process.execPath, [vsce, 'package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '-o', outFile], {
    cwd: dir, timeout: 120_000, env: { ...process.env, npm_config_update_notifier: 'false' },
  }).catch((e: Error & { stdout?: string; stderr?: string }) => {
    throw new Error(`vsce package failed in ${dir}: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  });
}

let bundled: Promise<unknown> | null = null;

/** Bundles dist/ from the working tree once per test process, so a test never packages a stale bundle. */
function bundleOnce(): Promise<unknown> {
  bundled ??= execFileP(process.execPath, [join(REPO, 'esbuild.mjs')], { cwd: REPO }).catch((e: Error & { stderr?: string }) => {
    throw new Error(`node esbuild.mjs failed: ${e.message}\n${e.stderr ?? ''}`);
  });
  return bundled;
}

/** Writes `outFile` from a fresh bundle of the working tree. */
export async function packageExtension(outFile: string): Promise<void> {
  await bundleOnce();
  const stage = mkdtempSync(join(tmpdir(), 'hefery-vsix-'));
  try {
    cpSync(join(REPO, 'package.json'), join(stage, 'package.json'));
    writeFileSync(join(stage, 'README.md'), README);
    cpSync(join(REPO, 'media'), join(stage, 'media'), { recursive: true });
    mkdirSync(join(stage, 'dist', 'webview'), { recursive: true });
    cpSync(join(REPO, 'dist', 'extension.js'), join(stage, 'dist', 'extension.js'));
    for (const f of readdirSync(join(REPO, 'dist', 'webview'))) {
      if (/\.(js|css)$/.test(f)) cpSync(join(REPO, 'dist', 'webview', f), join(stage, 'dist', 'webview', f));
    }
    await vscePackage(stage, outFile);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}
