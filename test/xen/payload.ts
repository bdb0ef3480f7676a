// The files the lane adds to dom0's root at boot (scripts/xen-lane/boot.sh
// start PAYLOAD_DIR): the host's own node binary, the non-glibc libraries it
// links (dom0 is Debian 12 like the host, so its glibc serves), the dom0
// helpers bundled by esbuild, and Hefery's agent as it ships:
//   /opt/hefery/bin/node
//   /opt/hefery/lib/*.so*            (run with LD_LIBRARY_PATH=/opt/hefery/lib)
//   /opt/hefery/remus-driver.js      the xen-remus backend alone (test/xen/dom0/remus-driver.ts)
//   /opt/hefery/agent-session.js     a client of the agent's socket (test/xen/dom0/agent-session.ts)
//   /opt/hefery/agent/cli.js, training-worker.js   the agent's bundles (esbuild.mjs's agent builds)
//   /opt/hefery/agent/hefery_libvirt.node          the project's libvirt addon, built on this host
//   /opt/hefery/agent/node_modules/better-sqlite3  its JS, package.json and native module (+ bindings)
// Both native modules were built on this Debian 12 host against the same
// libvirt0 and glibc that dom0's debootstrap installs.

import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, realpathSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { build, type BuildOptions } from 'esbuild';

export const DOM0_NODE = '/opt/hefery/bin/node';
export const DOM0_LIB = '/opt/hefery/lib';
export const DOM0_DRIVER = '/opt/hefery/remus-driver.js';
export const DOM0_SESSION = '/opt/hefery/agent-session.js';
export const DOM0_AGENT = '/opt/hefery/agent/cli.js';

/** glibc's own objects: dom0 has them (same Debian release); mixing loader and libc builds breaks. */
const GLIBC = /^(ld-linux.*|libc|libm|libdl|libpthread|librt|libresolv|libutil)\.so/;

/** Shared libraries of `exe` as ldd resolves them on the host. */
export function sharedLibraries(exe: string): string[] {
  const out = execFileSync('ldd', [exe], { encoding: 'utf8' });
  const libs: string[] = [];
  for (const line of out.split('\n')) {
    const m = /=>\s+(\/\S+)\s+\(/.exec(line);
    if (m) libs.push(m[1]);
  }
  return libs;
}

const NODE_BUNDLE: BuildOptions = { bundle: true, platform: 'node', format: 'cjs', target: 'node20', logLevel: 'warning' };

/** The agent's two bundles with esbuild.mjs's options for them (native modules stay external). */
async function bundleAgent(repoRoot: string, dir: string): Promise<void> {
  const agent: BuildOptions = { ...NODE_BUNDLE, external: ['better-sqlite3', '*.node'], logLevel: 'error' }; // (its tsx/cjs warning is for .ts workers only)
  await build({ ...agent, entryPoints: [join(repoRoot, 'host-agent', 'src', 'cli.ts')], outfile: join(dir, 'cli.js'), banner: { js: '#!/usr/bin/env node' } });
  await build({ ...agent, entryPoints: [join(repoRoot, 'host-agent', 'src', 'training', 'worker.ts')], outfile: join(dir, 'training-worker.js') });
}

/** A package from the repository's node_modules, only the listed parts. */
function copyPackage(repoRoot: string, name: string, parts: string[], dest: string): void {
  const src = join(repoRoot, 'node_modules', name);
  for (const p of parts) {
    const from = join(src, p);
    if (!existsSync(from)) throw new Error(`payload: ${from} is missing (run scripts/setup.sh)`);
    mkdirSync(dirname(join(dest, name, p)), { recursive: true });
    cpSync(from, join(dest, name, p), { recursive: true });
  }
}

export async function buildPayload(repoRoot: string, dir: string): Promise<string> {
  rmSync(dir, { recursive: true, force: true });
  const opt = join(dir, 'opt', 'hefery');
  mkdirSync(join(opt, 'bin'), { recursive: true });
  mkdirSync(join(opt, 'lib'), { recursive: true });
  const node = realpathSync(process.execPath);
  copyFileSync(node, join(opt, 'bin', 'node'));
  chmodSync(join(opt, 'bin', 'node'), 0o755);
  for (const lib of sharedLibraries(node)) {
    if (GLIBC.test(basename(lib))) continue;
    copyFileSync(realpathSync(lib), join(opt, 'lib', basename(lib)));
  }
  for (const name of ['remus-driver', 'agent-session']) {
    await build({ ...NODE_BUNDLE, entryPoints: [join(repoRoot, 'test', 'xen', 'dom0', `${name}.ts`)], outfile: join(opt, `${name}.js`) });
  }

  const agent = join(opt, 'agent');
  mkdirSync(agent, { recursive: true });
  await bundleAgent(repoRoot, agent);
  const addon = join(repoRoot, 'host-agent', 'native', 'build', 'Release', 'hefery_libvirt.node');
  if (!existsSync(addon)) throw new Error(`payload: ${addon} is missing (npm run build:native)`);
  copyFileSync(addon, join(agent, 'hefery_libvirt.node'));
  const modules = join(agent, 'node_modules');
  copyPackage(repoRoot, 'better-sqlite3', ['package.json', 'lib', 'build/Release/better_sqlite3.node'], modules);
  copyPackage(repoRoot, 'bindings', ['package.json', 'bindings.js'], modules);
  copyPackage(repoRoot, 'file-uri-to-path', ['package.json', 'index.js'], modules);
  return dir;
}
