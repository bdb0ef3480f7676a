// code-server (a real VS Code, served to a browser) on 127.0.0.1 with
// `--auth none`, its own user-data and extensions folders, and HOME, XDG
// folders and TMPDIR confined to a temp dir, so the developer's or the CI
// machine's VS Code state is never read or written. Stopped by process
// group (code-server forks the VS Code server and the extension host).

import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CODE_SERVER_ENTRY, NODE24 } from './env';
import { freePort } from '../fixtures/sshd';

const execFileP = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface CodeServerOptions {
  /** .vsix files to install before starting. */
  vsix: string[];
  /** User settings (settings.json). */
  settings: Record<string, unknown>;
  /** Folder to open; default: an empty folder in the temp dir. */
  folder?: string;
}

export interface CodeServer {
  url: string;
  port: number;
  dir: string;
  userDataDir: string;
  folder: string;
  /** code-server's own output (its log and the server's). */
  log(): string;
  stop(): Promise<void>;
}

/** Settings that keep the workbench quiet and offline. */
export const QUIET_SETTINGS: Record<string, unknown> = {
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'workbench.enableExperiments': false,
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'security.workspace.trust.enabled': false,
  'chat.disableAIFeatures': true,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'git.enabled': false,
  'npm.autoDetect': 'off',
  'typescript.disableAutomaticTypeAcquisition': true,
};

function confinedEnv(dir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    LANG: 'C.UTF-8',
    HOME: join(dir, 'home'),
    XDG_CONFIG_HOME: join(dir, 'home', '.config'),
    XDG_DATA_HOME: join(dir, 'home', '.local', 'share'),
    XDG_CACHE_HOME: join(dir, 'home', '.cache'),
    XDG_RUNTIME_DIR: join(dir, 'run'),
    TMPDIR: join(dir, 'tmp'),
    // No extension gallery: nothing may leave the machine.
    EXTENSIONS_GALLERY: JSON.stringify({
      serviceUrl: 'http://127.0.0.1:9/gallery',
      itemUrl: 'http://127.0.0.1:9/item',
      resourceUrlTemplate: 'http://127.0.0.1:9/resource/{publisher}/{name}/{version}/{path}',
      extensionUrlTemplate: 'http://127.0.0.1:9/extension/{publisher}/{name}',
      controlUrl: '',
      nlsBaseUrl: '',
    }),
  };
  for (const k of ['HOME', 'XDG_CONFIG_HOME', 'XDG_DATA_HOME', 'XDG_CACHE_HOME', 'XDG_RUNTIME_DIR', 'TMPDIR'] as const) mkdirSync(env[k]!, { recursive: true, mode: 0o700 });
  return env;
}

export async function startCodeServer(o: CodeServerOptions): Promise<CodeServer> {
  const dir = mkdtempSync(join(tmpdir(), 'hefery-code-server-'));
  const env = confinedEnv(dir);
  const userDataDir = join(dir, 'user-data');
  const extensionsDir = join(dir, 'extensions');
  const folder = o.folder ?? join(dir, 'workspace');
  mkdirSync(join(userDataDir, 'User'), { recursive: true });
  mkdirSync(extensionsDir, { recursive: true });
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(userDataDir, 'User', 'settings.json'), JSON.stringify({ ...QUIET_SETTINGS, ...o.settings }, null, 2));
  const config = join(dir, 'config.yaml');
  writeFileSync(config, 'auth: none\ncert: false\n');
  const base = [CODE_SERVER_ENTRY, '--config', config, '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir];

  for (const vsix of o.vsix) {
    await execFileP(NODE24, [...base, '--force', '--install-extension', vsix], { env, timeout: 120_000 }).catch((e: Error & { stdout?: string; stderr?: string }) => {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`code-server --install-extension ${vsix} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    });
  }

  const port = await freePort();
  let output = '';
  const child: ChildProcess = spawn(NODE24, [
    ...base, '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--disable-telemetry', '--disable-update-check',
    '--disable-workspace-trust', '--disable-getting-started-override', '--ignore-last-opened', folder,
  ], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));

  const stop = async () => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch { /* already gone */ }
      const done = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
      if (!done) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch { /* already gone */ }
        await exited;
      }
    }
    // The extension host may outlive its parent for a moment; the group is gone once its last member is.
    for (let i = 0; i < 50 && child.pid !== undefined && groupAlive(child.pid); i++) await sleep(100);
    rmSync(dir, { recursive: true, force: true });
  };

  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`code-server exited with ${child.exitCode} before listening:\n${output}`);
    }
    try {
      const r = await fetch(`${url}healthz`);
      if (r.ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`code-server did not answer on ${url} within 60 s:\n${output}`);
    }
    await sleep(250);
  }
  return { url: `${url}?folder=${encodeURIComponent(folder)}`, port, dir, userDataDir, folder, log: () => output, stop };
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}
