// Security: domain names and paths never reach a shell.
//   - The source: the only child process the product starts is xl (and the
//     fence command) in the xen-remus backend, with spawn and an argv array;
//     no exec/execSync/execFile-with-shell, no `shell:` option anywhere in
//     host-agent/src, extension/src or webview/src.
//   - Every entry point, with names full of shell syntax, on real
//     components: libvirt domains named so (a private libvirtd) are skipped
//     by the agent with a logged reason and nothing runs; every RPC method
//     taking a domain refuses such a name (InvalidParams naming the field);
//     every CLI command taking one refuses it. Canary files that a shell
//     would create are checked for in every working directory involved.
// (The xen-remus backend itself refuses such names before spawning xl:
// host-agent/test/backends/xen-remus.test.ts, "a domain name with shell
// metacharacters is refused before anything is spawned".)

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ErrorCodes, Methods, type Sample } from '../../host-agent/src/protocol/api';
import { RpcFailure } from '../../host-agent/src/protocol/peer';
import type { AgentConnection } from '../../host-agent/src/rpc/client';
import { runAgentCli } from '../fixtures/agent';
import { REPO_ROOT } from '../fixtures/libvirt';
import { uniqueId } from '../fixtures/netns';
import type { Agent } from './lib/agent';
import { privateLibvirtUnavailable, type PrivateLibvirt } from './lib/privateLibvirt';
import { startRig, type Rig } from './lib/rig';
import { waitUntil } from '../fixtures/wait';

const id = uniqueId();
const CANARY = `hfrt-pwned-${id}`;
/** Names a shell would act on; each would create the canary file. libvirt refuses '/' in names, so the canary is relative. */
const NASTY = [`hfrt;touch ${CANARY}`, `hfrt$(touch ${CANARY})`, `hfrt\`touch ${CANARY}\``, `hfrt|touch ${CANARY}`, `hfrt&&touch ${CANARY}`, `-hfrt --help`, `hfrt\ntouch ${CANARY}`];

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (/\.(ts|tsx|js|mjs)$/.test(e)) out.push(p);
  }
  return out;
}

test('the product\'s source starts no shell: only spawn with argv arrays, in the xen-remus backend', () => {
  const files = ['host-agent/src', 'extension/src', 'webview/src'].flatMap((d) => sourceFiles(join(REPO_ROOT, d)));
  assert.ok(files.length > 50);
  const users: string[] = [];
  for (const f of files) {
    const text = readFileSync(f, 'utf8').replace(/^\s*\/\/.*$/gm, '');
    const rel = relative(REPO_ROOT, f);
    // exec/execSync of child_process (db.exec of SQLite and RegExp exec are methods: preceded by a dot).
    assert.ok(!/(?<![.\w])(exec|execSync|spawnSync|execFileSync)\s*\(/.test(text), `${rel}: a shell-based or synchronous child process`);
    if (/from ['"]node:child_process['"]|require\(['"](node:)?child_process['"]\)/.test(text)) {
      users.push(rel);
      assert.ok(!/\bshell\s*:/.test(text), `${rel}: a shell option for a child process`);
    }
  }
  assert.deepEqual(users, ['host-agent/src/backends/xen-remus.ts'], 'only the xen-remus backend starts processes');
  const remus = readFileSync(join(REPO_ROOT, 'host-agent/src/backends/xen-remus.ts'), 'utf8');
  const calls = [...remus.matchAll(/\bspawn\(([^,]+),\s*([^,]+),/g)].map((m) => `${m[1].trim()} ${m[2].trim()}`);
  assert.deepEqual(calls, ['this.cfg.xl argv', 'cmd args'], 'spawn(command, argv array, ...) only');
});

const skip = privateLibvirtUnavailable() ?? false;
let rig: Rig | undefined;
let lv: PrivateLibvirt;
let dir = '';
let agent: Agent;
let client: AgentConnection;
let samples: Sample[] = [];
const OK = `hfrt-ok-${id}`;

before(async () => {
  if (skip) return;
  rig = await startRig({
    name: 'shell',
    domains: [OK],
    config: {
      modelDir: '${HEFERY_RUN_DIR}/models',
      sampling: { intervalMs: 200 },
      policy: { protect: ['*'], defaults: { safeIntervalMs: 200, relaxedIntervalMs: 2000, maxSampleAgeMs: 5000 } },
    },
  });
  ({ lv, dir, agent, client, samples } = rig);
});

after(async () => {
  await rig?.close();
  for (const d of [REPO_ROOT, '/', tmpdir()]) rmSync(join(d, CANARY), { force: true });
});

function noCanary(): void {
  for (const d of [REPO_ROOT, dir, '/', tmpdir(), join(REPO_ROOT, 'host-agent')]) assert.equal(existsSync(join(d, CANARY)), false, `a shell ran: ${join(d, CANARY)} exists`);
}

test('libvirt domains named with shell syntax: skipped with a logged reason, nothing runs, the others are sampled', { skip, timeout: 300_000 }, async () => {
  const ctx = () => agent.tail();
  const defined: string[] = [];
  for (const name of NASTY) {
    try {
      await lv.createDomain(name);
      defined.push(name);
    } catch (e) {
      console.log(`# libvirt refused the name ${JSON.stringify(name)}: ${(e as Error).message.split('\n')[0].slice(0, 120)}`);
    }
  }
  assert.ok(defined.length >= 3, `libvirt accepted several nasty names (${defined.length})`);
  for (const name of defined) {
    await waitUntil(`the skip of ${JSON.stringify(name)} logged`, () => agent.log().includes(`domain ${JSON.stringify(name)} skipped: its name does not match`), 30_000, ctx);
  }
  const n = samples.length;
  await waitUntil('the ordinary domain still sampled', () => samples.filter((s) => s.domain === OK).length >= 5 && samples.length > n, 30_000, ctx);
  assert.ok(samples.every((s) => !s.domain.startsWith('hfrt;') && !s.domain.includes('$')), 'no sample under a nasty name');
  const list = await client.peer.call('domains.list', {});
  assert.deepEqual(list.map((d) => d.name), [OK]);
  noCanary();
  for (const name of defined) await lv.virsh('destroy', name).catch(() => undefined);
  console.log(`# ${defined.length} domains with shell syntax in their names: each skipped once with a reason; ${OK} sampled throughout; no canary file`);
});

test('every RPC method that takes a domain refuses shell syntax with InvalidParams naming the field', { skip }, async () => {
  const calls: Array<[keyof typeof Methods, (d: string) => Record<string, unknown>]> = [
    ['samples.history', (d) => ({ domain: d, from: 0, to: 1 })],
    ['samples.subscribe', (d) => ({ domains: [d] })],
    ['model.train', (d) => ({ domains: [d] })],
    ['model.get', (d) => ({ domain: d })],
    ['interval.pin', (d) => ({ domain: d, intervalMs: 500, who: 'x' })],
    ['interval.resume', (d) => ({ domain: d, who: 'x' })],
    ['decisions.list', (d) => ({ domain: d, from: 0, to: 1 })],
    ['incidents.mark', (d) => ({ domain: d, from: 0, to: 1, health: 'failed' })],
  ];
  for (const [method, params] of calls) {
    for (const name of NASTY) {
      await assert.rejects(client.peer.call(method, params(name) as never), (e: unknown) =>
        e instanceof RpcFailure && e.code === ErrorCodes.InvalidParams && /params\.domains?(\[0\])?: expected string matching/.test(e.message), `${method} ${JSON.stringify(name)}`);
    }
  }
  noCanary();
});

test('every CLI command that takes a domain refuses shell syntax', { skip, timeout: 120_000 }, async () => {
  const sock = join(dir, 'agent.sock');
  const name = NASTY[0];
  for (const args of [['history', name], ['pin', name, '--interval', '500ms'], ['resume', name], ['decisions', name], ['train', '--domain', name]]) {
    const r = await runAgentCli([...args, '--socket', sock]);
    const out = r.stdout + r.stderr;
    assert.notEqual(r.code, 0, `${args.join(' ')} was accepted:\n${out}`);
    assert.match(out, /domain|does not match|expected string matching|not a domain name/i, `${args.join(' ')}: ${out}`);
  }
  noCanary();
});
