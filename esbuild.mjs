// Bundles the three parts of Hefery:
//   extension  -> dist/extension.js   (Node, CommonJS, `vscode` external)
//   webview    -> dist/webview/*.js   (browser IIFE, one per panel)
//   host agent -> dist/agent/cli.js   (Node, native modules external)
import * as esbuild from 'esbuild';
import { readdirSync, existsSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const common = {
  bundle: true,
  sourcemap: !production,
  minify: production,
  logLevel: 'info',
  legalComments: 'none',
};

const panelEntries = existsSync('webview/src/panels')
  ? readdirSync('webview/src/panels').filter((f) => f.endsWith('.ts')).map((f) => `webview/src/panels/${f}`)
  : [];

const builds = [
  {
    ...common,
    entryPoints: ['extension/src/extension.ts'],
    outfile: 'dist/extension.js',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode', '*.node', 'cpu-features'],
  },
  {
    ...common,
    entryPoints: ['host-agent/src/cli.ts'],
    outfile: 'dist/agent/cli.js',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['better-sqlite3', '*.node'],
    banner: { js: '#!/usr/bin/env node' },
  },
  {
    // the agent's training worker thread (host-agent/src/training/service.ts starts it from next to cli.js)
    ...common,
    entryPoints: ['host-agent/src/training/worker.ts'],
    outfile: 'dist/agent/training-worker.js',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['better-sqlite3', '*.node'],
  },
];
if (panelEntries.length) {
  builds.push({
    ...common,
    entryPoints: panelEntries,
    outdir: 'dist/webview',
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    loader: { '.css': 'css' },
  });
}

// A part whose entry point is not there yet is skipped with a note, not an error.
const present = builds.filter((b) => {
  const entries = b.entryPoints;
  const ok = entries.every((e) => existsSync(e));
  if (!ok) console.warn(`esbuild: skipping ${entries.join(', ')} (not present)`);
  return ok;
});

if (watch) {
  for (const b of present) {
    const ctx = await esbuild.context(b);
    await ctx.watch();
  }
} else {
  await Promise.all(present.map((b) => esbuild.build(b)));
}
