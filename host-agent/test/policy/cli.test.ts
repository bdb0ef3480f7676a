// The pin / resume / decisions commands' command-line handling (the calls to
// a running agent are covered by test/integration/protection-daemon.test.ts).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli';
import { decisionLine, decisionsTable } from '../../src/cli/decisions';

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => (out += s + '\n'), err: (s) => (err += s + '\n') });
  return { code, out, err };
}

test('bad command lines exit 2 and say what is wrong', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['pin', 'vm1'], /hefery-agent pin: missing --interval/],
    [['pin', 'vm1', '--interval', 'fast'], /--interval: expected a duration like 30s, 5m, 2h or 7d, got "fast"/],
    [['pin', 'vm1', '--interval', '2h'], /--interval: expected 1ms to 1h, got "2h"/],
    [['pin', 'vm1', '--interval', '200ms', '--for', '1m', '--until', '2030-01-01T00:00:00Z'], /give at most one of --for and --until/],
    [['pin', 'vm1', '--interval', '200ms', '--until', 'tomorrow'], /--until: expected an ISO time like 2030-01-01T12:00:00Z, got "tomorrow"/],
    [['pin', 'vm1', '--interval', '200ms', '--until', '2001-01-01T00:00:00Z'], /--until: 2001-01-01T00:00:00Z is not in the future/],
    [['pin', 'vm;1', '--interval', '200ms'], /DOMAIN: "vm;1" is not a valid domain name/],
    [['pin', '--interval', '200ms'], /missing DOMAIN/],
    [['resume'], /hefery-agent resume: missing DOMAIN/],
    [['resume', 'a', 'b'], /expected one DOMAIN, got 2/],
    [['decisions', 'vm1', '--limit', '0'], /--limit: expected an integer in 1\.\.100000, got "0"/],
    [['decisions', 'vm1', '--since', 'ever'], /--since: expected a duration/],
  ];
  for (const [argv, re] of cases) {
    const r = await cli(argv);
    assert.equal(r.code, 2, argv.join(' '));
    assert.match(r.err, re, argv.join(' '));
  }
});

test('no agent at the socket: exit 3 with a sentence a user can act on', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hefery-cli-'));
  try {
    const sock = join(dir, 'none.sock');
    for (const argv of [['pin', 'vm1', '--interval', '200ms'], ['resume', 'vm1'], ['decisions', 'vm1']]) {
      const r = await cli([...argv, '--socket', sock]);
      assert.equal(r.code, 3, argv.join(' '));
      assert.match(r.err, new RegExp(`no agent listening at ${sock}: is hefery-agent serve running\\?`));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('help lists the commands; decisions print as a table and as one line', async () => {
  const h = await cli(['--help']);
  assert.match(h.out, /^\s+pin\s+pin a domain's checkpoint interval/m);
  assert.match(h.out, /^\s+resume\s+/m);
  assert.match(h.out, /^\s+decisions\s+/m);
  const d = { id: 1, domain: 'vm1', ts: Date.UTC(2030, 0, 1), kind: 'failsafe' as const, oldIntervalMs: 500, newIntervalMs: 100, risk: null, reason: 'fail-safe (stats unavailable)', who: 'policy', applied: false, error: 'QMP: boom' };
  assert.equal(decisionLine(d), 'vm1: failsafe 500 ms -> 100 ms (NOT applied: QMP: boom) by policy: fail-safe (stats unavailable)');
  const t = decisionsTable([d]).split('\n');
  assert.match(t[0], /^TIME\s+KIND\s+OLD\s+NEW\s+RISK\s+WHO\s+APPLIED\s+REASON$/);
  assert.match(t[1], /^2030-01-01T00:00:00\.000Z\s+failsafe\s+500 ms\s+100 ms\s+-\s+policy\s+no\s+fail-safe \(stats unavailable\) \[error: QMP: boom\]$/);
  assert.equal(decisionsTable([]), '(no decisions in that range)');
});
