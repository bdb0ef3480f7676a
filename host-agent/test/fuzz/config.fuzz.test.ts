// Fuzz: a config file with a wrong type anywhere, in every section the
// agent reads (libvirt, socket, store, sampling, prediction, policy with its
// per-domain overrides and hazard rule, backend for xen-remus and qemu-colo).
// Checked the way `hefery-agent serve` checks it (loadConfig, then the policy
// and backend sections), plus the real command line for a few: each is
// refused with an error naming the file and the field's path.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { ConfigError, loadConfig } from '../../src/config';
import { parseProtectionConfig } from '../../src/policy';

const VALID = {
  $comment: 'fuzz base',
  libvirt: { uri: 'test:///default', statsMode: 'auto', readOnly: false },
  socket: { path: '${HEFERY_RUN_DIR}/agent.sock', group: 'hefery', maxConnections: 32, maxSubscriptionsPerConnection: 16, maxQueuedBytes: 1_048_576 },
  store: { path: '${HEFERY_RUN_DIR}/h.db', retention: { days: 30, maxRowsPerDomain: 100_000, decisionDays: 365 }, pruneIntervalMs: 3_600_000 },
  sampling: { intervalMs: 1000, maxGapMs: 10_000 },
  modelDir: '${HEFERY_RUN_DIR}/models',
  pidFile: '${HEFERY_RUN_DIR}/agent.pid',
  logLevel: 'info',
  prediction: { method: 'forward', horizonSteps: 10, windowLength: 30, discretization: 'quantile', levels: 3, quantiles: [0.5, 0.95], loadLevels: 3, restarts: 3, maxIterations: 100, leadMs: 600_000, recoveryMs: 300_000 },
  policy: {
    protect: ['web-*', 'db1'],
    defaults: { safeIntervalMs: 100, relaxedIntervalMs: 2000, steps: [250, 500, 1000], raise: 0.5, lower: 0.2, dwellMs: 60_000, maxSampleAgeMs: 5000, hazard: { checkpointCostMs: 20, riskStepMs: 1000, deadband: 0.1 } },
    domains: { db1: { relaxedIntervalMs: 500, steps: [200] } },
  },
  backend: {
    type: 'xen-remus', xl: '/usr/sbin/xl', args: ['-F'], destination: 'backup-host', destinations: { db1: 'backup-2' },
    fence: ['ssh', 'backup-host', 'xl', 'destroy', '{domain}--incoming'], minRestartIntervalMs: 30_000, settleMs: 3000, readyPattern: null,
    readyTimeoutMs: 120_000, stopTimeoutMs: 10_000, fenceTimeoutMs: 30_000, retry: { initialMs: 1000, maxMs: 60_000 }, stateDir: '/var/lib/hefery/remus', minIntervalMs: 20,
  },
};

type Path = Array<string | number>;

/** Every path to a field, with the type found there. */
function fields(v: unknown, at: Path = [], out: Array<{ path: Path; type: string }> = []): Array<{ path: Path; type: string }> {
  if (at.length > 0) out.push({ path: at, type: v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v });
  if (Array.isArray(v)) v.forEach((x, i) => fields(x, [...at, i], out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) fields(x, [...at, k], out);
  return out;
}
const FIELDS = fields(VALID).filter((f) => f.path[0] !== '$comment');

/** A value of a type the field does not have. */
const WRONG: Record<string, unknown[]> = {
  number: ['100', true, {}, [1]],
  string: [42, false, {}, ['x']],
  boolean: ['true', 1, {}, []],
  array: [{}, 'a,b', 3],
  object: [[], 'x', 7],
  null: [{}, [], true],
};

const dotted = (p: Path) => p.map((x, i) => (typeof x === 'number' ? `[${x}]` : i === 0 ? x : `.${x}`)).join('');

function setAt(doc: unknown, p: Path, value: unknown): unknown {
  if (p.length === 0) return value;
  const copy = Array.isArray(doc) ? [...doc] : { ...(doc as Record<string, unknown>) };
  (copy as Record<string | number, unknown>)[p[0]] = setAt((doc as Record<string | number, unknown>)[p[0]], p.slice(1), value);
  return copy;
}

/** What `hefery-agent serve` validates before it opens anything: the file, then the policy and backend sections. */
function serveChecks(file: string, runDir: string): void {
  const cfg = loadConfig(file, { runDir });
  try {
    parseProtectionConfig(cfg.policy, cfg.backend, cfg.libvirt.uri);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`config ${resolve(file)}: ${e.message}`);
    throw e;
  }
}

test('the fuzz base config is valid', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hefery-fuzz-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'agent.json'), JSON.stringify(VALID));
  serveChecks(join(dir, 'agent.json'), dir);
});

test('fuzz: a wrong type in any field of any section is refused naming the file and the field', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hefery-fuzz-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'agent.json');
  fc.assert(fc.property(fc.constantFrom(...FIELDS), fc.nat(), (f, k) => {
    const choices = WRONG[f.type];
    const value = choices[k % choices.length];
    writeFileSync(file, JSON.stringify(setAt(VALID, f.path, value)));
    assert.throws(() => serveChecks(file, dir), (e: unknown) => {
      assert.ok(e instanceof ConfigError, `not a ConfigError: ${(e as Error)?.stack}`);
      assert.ok(e.message.startsWith(`config ${resolve(file)}: `), e.message);
      // The error names the field, or (a wrong type for a section's discriminator or container) its closest parent.
      const named = f.path.some((_, i) => e.message.includes(`: ${dotted(f.path.slice(0, f.path.length - i))}`) || e.message.includes(` ${dotted(f.path.slice(0, f.path.length - i))}:`));
      assert.ok(named, `${dotted(f.path)} = ${JSON.stringify(value)}: ${e.message}`);
      return true;
    }, `${dotted(f.path)} = ${JSON.stringify(value)} was accepted`);
  }), { numRuns: 400 });
});

test('the real command line refuses a config with a wrong type: exit 1, the file and the field named', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hefery-fuzz-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cli = join(__dirname, '..', '..', 'src', 'cli.ts');
  const cases: Array<[Path, unknown, RegExp]> = [
    [['sampling', 'intervalMs'], 'fast', /sampling\.intervalMs: expected number >= 100, got string "fast"/],
    [['prediction', 'quantiles'], { a: 1 }, /prediction\.quantiles: expected array, got object/],
    [['policy', 'defaults', 'raise'], '0.5', /policy\.defaults\.raise: expected .*got string "0\.5"/],
    [['backend', 'retry', 'maxMs'], [60_000], /backend\.retry\.maxMs: expected integer >= 1, got array/],
  ];
  for (const [path, value, re] of cases) {
    const file = join(dir, 'bad.json');
    // A test driver and paths in the temp dir: a config error must come before anything is touched.
    writeFileSync(file, JSON.stringify(setAt({ ...VALID, backend: path[0] === 'backend' ? VALID.backend : { type: 'dry-run' } }, path, value)));
    const r = await new Promise<{ code: number; stderr: string }>((res) => {
      execFile(process.execPath, ['--import', 'tsx', cli, 'serve', '--config', file, '--run-dir', dir], { timeout: 60_000 }, (err, _o, stderr) => res({ code: err ? Number((err as { code?: unknown }).code) : 0, stderr }));
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`hefery-agent serve: config ${resolve(file).replace(/[.]/g, '\\.')}: `));
    assert.match(r.stderr, re);
    assert.equal(existsSync(join(dir, 'h.db')), false, 'refused before the store was opened');
  }
});
