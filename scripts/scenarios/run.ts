// Records failure-scenario traces on the real test guest (docs/scenarios.md):
//
//   node --import tsx scripts/scenarios/run.ts --scenarios mem-leak,crash --out traces/
//        [--repeat N] [--from K] [--normal 120s] [--after 20s] [--outage 10s]
//        [--probe-timeout 3s] [--train 0.5] [--seed S]
//
// Runs one scenario at a time (the machine has 2 cores), repeat k of a
// scenario with its variant k and a normal period of normal + 30 s x k.
// Ctrl-C stops the current run and removes everything it started.

import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDuration } from '../../host-agent/src/cli/common';
import { startLibvirt, virsh } from '../../test/fixtures/libvirt';
import { ensureGuestImage } from '../../test/fixtures/guest';
import { parseScenarioList, SCENARIOS, type Scenario } from './catalog';
import { recordScenario, type RunSettings } from './record';
import { Aborted, sleep } from './teardown';

export const USAGE = `usage: node --import tsx scripts/scenarios/run.ts --scenarios LIST --out DIR [options]

Boots the test guest under libvirt/QEMU (TCG), runs the real agent daemon and a
workload, injects a fault after a normal period, waits for the failure, and
writes the agent's samples with the fault window to DIR/<scenario>-<n>.jsonl.gz.

  --scenarios LIST     comma-separated, or "all": ${SCENARIOS.map((s) => s.name).join(', ')}
  --out DIR            where the traces go (e.g. traces/)
  --repeat N           runs per scenario (default 1); run k uses variant k
  --from K             number of the first run (default 1; files <scenario>-K...)
  --normal DUR         normal period before the fault (default 120s; run k adds 30 s x (k-1))
  --after DUR          recording after the failure (default 20s)
  --outage DUR         httpd unanswered this long is an outage (default 10s)
  --probe-timeout DUR  a health probe unanswered this long failed (default 3s)
  --train F            share of the normal period that only trains detectors (default 0.5)
  --seed S             workload seed of the first run (default 1; run k uses S + k - 1)`;

export interface RunArgs extends RunSettings {
  scenarios: Scenario[];
  repeat: number;
  from: number;
}

function positiveInt(v: string | undefined, what: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${what}: expected a whole number >= 1, got "${v}"`);
  return n;
}

export function parseRunArgs(argv: string[]): RunArgs {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      scenarios: { type: 'string' }, out: { type: 'string' }, repeat: { type: 'string' }, from: { type: 'string' },
      normal: { type: 'string' }, after: { type: 'string' }, outage: { type: 'string' }, 'probe-timeout': { type: 'string' },
      train: { type: 'string' }, seed: { type: 'string' },
    },
  });
  if (values.scenarios === undefined) throw new Error('--scenarios is required');
  if (values.out === undefined) throw new Error('--out is required');
  const train = values.train === undefined ? 0.5 : Number(values.train);
  if (!(train >= 0 && train < 1)) throw new Error(`--train: expected a number in [0, 1), got "${values.train}"`);
  const seed = values.seed === undefined ? 1 : Number(values.seed);
  if (!Number.isInteger(seed)) throw new Error(`--seed: expected an integer, got "${values.seed}"`);
  const args: RunArgs = {
    scenarios: parseScenarioList(values.scenarios),
    outDir: resolve(values.out),
    repeat: positiveInt(values.repeat, '--repeat', 1),
    from: positiveInt(values.from, '--from', 1),
    normalMs: parseDuration(values.normal ?? '120s', '--normal'),
    afterMs: parseDuration(values.after ?? '20s', '--after'),
    outageMs: parseDuration(values.outage ?? '10s', '--outage'),
    probeTimeoutMs: parseDuration(values['probe-timeout'] ?? '3s', '--probe-timeout'),
    trainFraction: train,
    seed,
  };
  if (args.normalMs < 10_000) throw new Error('--normal: at least 10s (the detectors need normal rows to train on and to be scored)');
  if (args.probeTimeoutMs >= args.outageMs) throw new Error('--probe-timeout must be shorter than --outage');
  return args;
}

/** The runs to make: [scenario, 0-based repeat index] in order, scenario by scenario. */
export function plannedRuns(a: RunArgs): Array<{ scenario: Scenario; repeat: number }> {
  const out: Array<{ scenario: Scenario; repeat: number }> = [];
  for (const scenario of a.scenarios) for (let k = a.from - 1; k < a.from - 1 + a.repeat; k++) out.push({ scenario, repeat: k });
  return out;
}

/** Waits (up to 2 min) until libvirtd answers: another user of the machine may be restarting it. */
async function libvirtAnswering(signal: AbortSignal, say: (m: string) => void): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await virsh('version');
      return;
    } catch (e) {
      if (i === 0) say(`libvirtd does not answer (${(e as Error).message.split('\n').pop()}); waiting up to 2 min`);
      if (i >= 24) throw e;
      await sleep(5000, signal);
    }
  }
}

async function main(): Promise<number> {
  let args: RunArgs;
  try {
    if (process.argv.includes('--help') || process.argv.includes('-h')) {
      process.stdout.write(USAGE + '\n');
      return 0;
    }
    args = parseRunArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`scenarios: ${(e as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const say = (m: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${m}\n`);
  const ac = new AbortController();
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupts++;
    if (interrupts === 1) say(`${sig}: stopping the current run and removing what it started…`);
    else if (interrupts === 2) say(`${sig} again: still tearing down; a third one exits at once (and may leave a domain behind)`);
    else process.exit(130);
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  await ensureGuestImage();
  const services = await startLibvirt();
  let failed = 0;
  try {
    for (const { scenario, repeat } of plannedRuns(args)) {
      if (ac.signal.aborted) break;
      try {
        await libvirtAnswering(ac.signal, say);
        await recordScenario({
          scenario, repeat, outDir: args.outDir, normalMs: args.normalMs + 30_000 * repeat, afterMs: args.afterMs, outageMs: args.outageMs,
          probeTimeoutMs: args.probeTimeoutMs, trainFraction: args.trainFraction, seed: args.seed + repeat, log: say, signal: ac.signal,
        });
      } catch (e) {
        if (e instanceof Aborted || ac.signal.aborted) break;
        failed++;
        say(`${scenario.name}-${repeat + 1} failed: ${(e as Error).stack ?? String(e)}`);
      }
    }
  } finally {
    await services.stop();
  }
  if (ac.signal.aborted) return 130;
  return failed ? 1 : 0;
}

if (require.main === module) {
  main().then((code) => process.exit(code), (e: unknown) => {
    process.stderr.write(`scenarios: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exit(1);
  });
}
