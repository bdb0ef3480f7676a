import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { parseBackendConfig } from '../../src/backends/config';
import { ConfigError, loadConfig } from '../../src/config';
import { DEFAULT_POLICY, globMatch, parsePolicyConfig, policyFor } from '../../src/policy/config';

function err(value: unknown): string {
  try {
    parsePolicyConfig(value);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    return e.message;
  }
  assert.fail('expected the policy to be refused');
}

test('no policy section: every domain protected with the built-in defaults', () => {
  assert.equal(parsePolicyConfig(null), DEFAULT_POLICY);
  assert.equal(parsePolicyConfig(undefined), DEFAULT_POLICY);
  const p = policyFor(DEFAULT_POLICY, 'anything')!;
  assert.deepEqual(p, {
    safeIntervalMs: 100, relaxedIntervalMs: 2000, ladder: [100, 250, 500, 1000, 2000], raise: 0.5, lower: 0.2,
    dwellMs: 60_000, maxSampleAgeMs: 5000, hazard: null,
  });
});

test('wrong types and values name the field', () => {
  assert.equal(err({ protect: ['*'], defaults: { safeIntervalMs: 'fast' } }), 'policy.defaults.safeIntervalMs: expected integer >= 1, got string "fast"');
  assert.equal(err({ protect: ['*'], defaults: { raise: 2 } }), 'policy.defaults.raise: expected number >= 0 and <= 1, got number 2');
  assert.equal(err({ protect: ['*'], defaults: { dwellMs: 1.5 } }), 'policy.defaults.dwellMs: expected integer >= 0, got number 1.5');
  assert.equal(err({ protect: ['*'], defaults: { maxSampleAgeMs: 10 } }), 'policy.defaults.maxSampleAgeMs: expected integer >= 100, got number 10');
  assert.equal(err({ protect: ['*'], defaults: { steps: 'many' } }), 'policy.defaults.steps: expected array, got string "many"');
  assert.equal(err({ protect: ['*'], defaults: { hazard: { checkpointCostMs: -1 } } }), 'policy.defaults.hazard.checkpointCostMs: expected number >= 0.001, got number -1');
  assert.equal(err({ protect: ['*'], defaults: { hazard: {} } }), 'policy.defaults.hazard.checkpointCostMs: expected number >= 0.001, got undefined');
  assert.equal(err({ protect: ['*'], defaults: { safe: 100 } }), 'policy.defaults.safe: expected no such field, got number 100');
  assert.equal(err({ protect: 'web-*' }), 'policy.protect: expected array, got string "web-*"');
  assert.equal(err({ protect: ['web;rm'] }), 'policy.protect[0]: expected string matching /^[A-Za-z0-9_.+*?-]{1,64}$/, got string "web;rm"');
  assert.equal(err({ defaults: {} }), 'policy.protect: required: the names or globs of the domains to protect, e.g. ["*"] or ["web-*", "db1"]');
  assert.equal(err({ protect: ['*'], domains: { db1: { lower: 'low' } } }), 'policy.domains.db1.lower: expected number >= 0 and <= 1, got string "low"');
  assert.equal(err([]), 'policy: expected object, got array');
});

test('values that do not fit together are refused with the reason', () => {
  assert.equal(err({ protect: ['*'], defaults: { safeIntervalMs: 500, relaxedIntervalMs: 200 } }), 'policy.defaults.relaxedIntervalMs: expected >= safeIntervalMs (500), got number 200');
  assert.equal(err({ protect: ['*'], defaults: { raise: 0.3, lower: 0.3 } }), 'policy.defaults.raise: expected > lower (0.3) (hysteresis: above raise tighten, below lower relax), got number 0.3');
  assert.equal(err({ protect: ['*'], defaults: { steps: [300, 200] } }), 'policy.defaults.steps[1]: steps must be ascending, 200 follows 300');
  assert.equal(err({ protect: ['*'], defaults: { steps: [5000] } }), 'policy.defaults.steps[0]: 5000 is not between safeIntervalMs (100) and relaxedIntervalMs (2000)');
  assert.equal(
    err({ protect: ['*'], defaults: { steps: [300, 800] }, domains: { db1: { relaxedIntervalMs: 500 } } }),
    'policy.domains.db1.steps (inherited from policy.defaults): 800 is not between safeIntervalMs (100) and relaxedIntervalMs (500)',
  );
  assert.equal(err({ protect: ['*'], domains: { 'bad name': {} } }), 'policy.domains.bad name: not a domain name or glob (expected /^[A-Za-z0-9_.+*?-]{1,64}$/)');
});

test('overrides: exact name beats globs, the first matching glob wins, unset fields come from defaults', () => {
  const cfg = parsePolicyConfig({
    protect: ['web-*', 'db?', 'solo'],
    defaults: { safeIntervalMs: 50, relaxedIntervalMs: 3000, steps: [200, 1000], dwellMs: 30_000 },
    domains: {
      'web-*': { relaxedIntervalMs: 1500 },
      'web-1': { raise: 0.8, lower: 0.1 },
      'w*': { relaxedIntervalMs: 100, steps: [] },
      'db?': { steps: [], hazard: { checkpointCostMs: 20 } },
    },
  });
  assert.equal(policyFor(cfg, 'other'), null, 'not in protect: unprotected');
  assert.equal(policyFor(cfg, 'db12'), null, '? is exactly one character');
  const web1 = policyFor(cfg, 'web-1')!;
  assert.equal(web1.raise, 0.8);
  assert.equal(web1.relaxedIntervalMs, 3000, 'the exact override does not inherit from the glob');
  assert.deepEqual(web1.ladder, [50, 200, 1000, 3000]);
  const web2 = policyFor(cfg, 'web-2')!;
  assert.equal(web2.relaxedIntervalMs, 1500, 'first glob, not the later w*');
  assert.deepEqual(web2.ladder, [50, 200, 1000, 1500]);
  assert.equal(web2.dwellMs, 30_000);
  const db1 = policyFor(cfg, 'db1')!;
  assert.deepEqual(db1.ladder, [50, 3000]);
  assert.deepEqual(db1.hazard, { checkpointCostMs: 20, riskStepMs: null, deadband: 0.1 });
  assert.equal(policyFor(cfg, 'solo'), cfg.defaults);
});

test('the built-in ladder adapts to custom bounds; equal bounds give a fixed interval', () => {
  const a = parsePolicyConfig({ protect: ['*'], defaults: { safeIntervalMs: 300, relaxedIntervalMs: 800 } }).defaults;
  assert.deepEqual(a.ladder, [300, 500, 800]);
  const b = parsePolicyConfig({ protect: ['*'], defaults: { safeIntervalMs: 200, relaxedIntervalMs: 200 } }).defaults;
  assert.deepEqual(b.ladder, [200]);
});

test('globs match whole names; regex characters in names are literal', () => {
  assert.equal(globMatch('web-*', 'web-1'), true);
  assert.equal(globMatch('web-*', 'xweb-1'), false);
  assert.equal(globMatch('a.b', 'axb'), false);
  assert.equal(globMatch('a.b', 'a.b'), true);
  assert.equal(globMatch('*', 'anything'), true);
  assert.equal(globMatch('vm?', 'vm1'), true);
  assert.equal(globMatch('vm+1', 'vm+1'), true);
  assert.equal(globMatch('vm+1', 'vmm1'), false);
});

test('the shipped configs have valid policy and backend sections', () => {
  const dir = join(__dirname, '..', '..', 'config');
  const demo = loadConfig(join(dir, 'demo.json'), { runDir: '/tmp/x' });
  const policy = parsePolicyConfig(demo.policy);
  assert.deepEqual(policy.protect, ['hefery-demo']);
  assert.equal(policyFor(policy, 'hefery-demo')!.safeIntervalMs, 100);
  assert.equal(policyFor(policy, 'someone-else'), null, 'the demo drives only its own guest');
  assert.deepEqual(parseBackendConfig(demo.backend, { libvirtUri: demo.libvirt.uri }), { type: 'qemu-colo', uri: 'qemu:///system' });
  const prod = loadConfig(join(dir, 'agent.json'));
  assert.equal(parsePolicyConfig(prod.policy), DEFAULT_POLICY);
  assert.deepEqual(parseBackendConfig(prod.backend, { libvirtUri: prod.libvirt.uri }), { type: 'dry-run' });
});
