// The files the lane adds to dom0's root at boot (scripts/xen-lane/boot.sh
// start PAYLOAD_DIR): the host's own node binary, the non-glibc libraries it
// links (dom0 is Debian 12 like the host, so its glibc serves), and the dom0
// driver bundled by esbuild with Hefery's xen-remus backend inside.
//   /opt/hefery/bin/node
//   /opt/hefery/lib/*.so*          (run with LD_LIBRARY_PATH=/opt/hefery/lib)
//   /opt/hefery/remus-driver.js

import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, realpathSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { build } from 'esbuild';

export const DOM0_NODE = '/opt/hefery/bin/node';
export const DOM0_LIB = '/opt/hefery/lib';
export const DOM0_DRIVER = '/opt/hefery/remus-driver.js';

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
  await build({
    entryPoints: [join(repoRoot, 'test', 'xen', 'dom0', 'remus-driver.ts')],
    outfile: join(opt, 'remus-driver.js'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'warning',
  });
  return dir;
}
