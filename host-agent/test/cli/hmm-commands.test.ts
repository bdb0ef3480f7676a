// hefery-agent train / score / replay as a user runs them: real processes, real files, a real SQLite store.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parseModel } from '../../src/hmm/model';
import { Store } from '../../src/store/store';
import { syntheticHistory, type Synthetic } from '../hmm/helpers';

const ROOT = resolve(__dirname, '..', '..', '..');
const CLI = join(ROOT, 'host-agent', 'src', 'cli.ts');
let dir = '';
let data: Synthetic;

function agent(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, timeout: 120_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      res({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0, stdout, stderr });
    });
  });
}

const csvOf = (s: Synthetic) => 'timestamp,cpu,mem,net,disk\n' + s.samples.map((x) => `${x.ts},${x.cpuPct},${x.memPct},${x.netRxBps},${x.diskWrBps}`).join('\n') + '\n';

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hefery-cli-'));
  data = syntheticHistory(2500, 21);
  writeFileSync(join(dir, 'train.csv'), csvOf(data));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('train --csv prints progress and writes a valid model; score writes one risk per row, high in the abnormal episodes', async () => {
  const model = join(dir, 'm.json');
  const t = await agent(['train', '--csv', join(dir, 'train.csv'), '--out', model, '--restarts', '2', '--max-iterations', '15']);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /train\.csv: 2500 rows \(cpu, mem, net, disk\)/);
  assert.match(t.stdout, /^restart 1\/2 {2}iteration {4}0 {2}log-likelihood -\d+\.\d+$/m);
  assert.match(t.stdout, /^restart 2\/2 {2}iteration/m);
  assert.match(t.stdout, /wrote .*m\.json: model \S+, 2500 observations in 1 sequence\(s\)/);
  const m = parseModel(readFileSync(model, 'utf8'), model);
  assert.equal(m.training.restarts, 2);

  const test = syntheticHistory(1500, 22);
  writeFileSync(join(dir, 'test.csv'), csvOf(test));
  for (const method of ['forward', 'viterbi']) {
    const s = await agent(['score', '--model', model, '--input', join(dir, 'test.csv'), '--method', method]);
    assert.equal(s.code, 0, s.stderr);
    const lines = s.stdout.trim().split('\n');
    assert.equal(lines[0], 'timestamp,risk,state');
    assert.equal(lines.length, 1501);
    const risk = lines.slice(1).map((l) => Number(l.split(',')[1]));
    assert.equal(lines[1].split(',')[0], String(test.samples[0].ts));
    const mean = (pick: boolean) => { const xs = risk.filter((_, i) => test.abnormal[i] === pick); return xs.reduce((a, b) => a + b, 0) / xs.length; };
    assert.ok(mean(true) > 0.8 && mean(false) < 0.05, `${method}: ${mean(true)} vs ${mean(false)}`);
  }
  const k = await agent(['score', '--model', model, '--input', join(dir, 'test.csv'), '--horizon', '20', '--out', join(dir, 'risk.csv')]);
  assert.equal(k.code, 0, k.stderr);
  assert.match(k.stderr, /wrote 1500 risk values to/);
  assert.equal(readFileSync(join(dir, 'risk.csv'), 'utf8').split('\n')[0], 'timestamp,risk,state');
});

test('train --db reads a domain from the store with its incidents', async () => {
  const db = join(dir, 'hefery.db');
  const store = Store.open({ path: db });
  const h = syntheticHistory(1200, 23, { domain: 'vm7' });
  store.insertSamples(h.samples.map((sample) => ({ sample, risk: null })));
  store.markIncident({ domain: 'vm7', from: h.samples[600].ts, to: h.samples[640].ts, health: 'failed', source: 'event' });
  store.close();
  const out = join(dir, 'db.json');
  const r = await agent(['train', '--db', db, '--domain', 'vm7', '--from', String(h.samples[100].ts), '--out', out, '--restarts', '1', '--max-iterations', '5']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^vm7: 1100 samples, 1 incidents$/m);
  const m = parseModel(readFileSync(out, 'utf8'), out);
  assert.deepEqual(m.domains, ['vm7']);
  assert.deepEqual(m.training.supervised, ['normal', 'failed'], 'the incident supervises failed; everything else held to normal supervises normal');
  assert.equal(m.training.from, h.samples[100].ts);
});

test('replay runs a trace through predictor and policy: risk, interval and decisions per step', async () => {
  const lines = [JSON.stringify({ kind: 'meta', name: 'syn', domain: 'vm1' })];
  data.samples.forEach((s) => lines.push(JSON.stringify({ ts: s.ts, cpu: s.cpuPct, mem: s.memPct, net: s.netRxBps, disk: s.diskWrBps })));
  for (const [a, b] of data.episodes) lines.push(JSON.stringify({ kind: 'fault', start: a, failure: b - 10_000, end: b }));
  writeFileSync(join(dir, 't.jsonl.gz'), gzipSync(lines.join('\n') + '\n'));
  const r = await agent(['replay', '--trace', join(dir, 't.jsonl.gz'), '--restarts', '1', '--max-iterations', '10', '--every', '100']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^trained on the first 1250 of 2500 rows/m);
  assert.match(r.stdout, /decision \S+ \S+ startup: - -> \d+ ms/);
  assert.match(r.stdout, /decision \S+ \S+ auto: \d+ -> \d+ ms \(risk 0\.\d+\): risk 0\.\d+ >= raise/, 'an abnormal episode tightens the interval');
  assert.match(r.stdout, /^2500 steps, 0 without a risk, \d+ decision\(s\); time at each interval: /m);
  const withModel = await agent(['replay', '--trace', join(dir, 't.jsonl.gz'), '--model', join(dir, 'm.json'), '--method', 'viterbi', '--every', '500']);
  assert.equal(withModel.code, 0, withModel.stderr);
  assert.match(withModel.stdout, /^model \S+ from .*m\.json$/m);
});

test('bad input: a CSV row names its line, a corrupt model file is a clear error, a bad command line exits 2', async () => {
  writeFileSync(join(dir, 'bad.csv'), 'timestamp,cpu\n1000,5\n2000,lots\n');
  const bad = await agent(['train', '--csv', join(dir, 'bad.csv'), '--out', join(dir, 'x.json')]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^hefery-agent train: .*bad\.csv:3: cpu "lots" is not a number$/m);
  writeFileSync(join(dir, 'broken.json'), '{"format":"hefery-hmm",');
  const broken = await agent(['score', '--model', join(dir, 'broken.json'), '--input', join(dir, 'train.csv')]);
  assert.equal(broken.code, 1);
  assert.match(broken.stderr, /broken\.json: not valid JSON \(truncated or corrupt file\?\)/);
  const usage = await agent(['score', '--model', join(dir, 'm.json')]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--model and --input are required/);
  const method = await agent(['score', '--model', join(dir, 'm.json'), '--input', join(dir, 'train.csv'), '--method', 'magic']);
  assert.equal(method.code, 2);
  assert.match(method.stderr, /--method: expected forward or viterbi, got "magic"/);
});
