import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EwmaDetector } from '../../src/evaluation/baselines';
import {
  formatNabTimestamp, labelsFor, nabFileScores, nabTrace, parseNabCsv, parseNabTimestamp, parseNabWindows, probationaryLength, readNabCorpus, readNabCsv,
  readNabWindows, scaledSigmoid, scoreCorpus, scoreFile, STANDARD_PROFILE, windowRowRange, writeNabResults,
} from '../../src/evaluation/nab';

/** The shared NAB data (see ../shared/README.md); HEFERY_NAB_DIR overrides. */
const NAB = process.env.HEFERY_NAB_DIR ?? join(__dirname, '../../../../shared/data/nab');
const FILE = 'ec2_cpu_utilization_24ae8d.csv';

test('NAB timestamps parse as UTC and format back', () => {
  assert.equal(parseNabTimestamp('2014-02-14 14:27:00'), Date.UTC(2014, 1, 14, 14, 27, 0));
  assert.equal(parseNabTimestamp('2014-02-26 13:45:00.000000'), Date.UTC(2014, 1, 26, 13, 45, 0));
  assert.equal(formatNabTimestamp(Date.UTC(2014, 1, 14, 14, 27, 0)), '2014-02-14 14:27:00');
  assert.throws(() => parseNabTimestamp('14/02/2014'), /not a NAB timestamp/);
  assert.throws(() => parseNabTimestamp('2014-02-30 00:00:00'), /not a valid date/);
});

test('a bad data file is refused with the line that is wrong', () => {
  assert.throws(() => parseNabCsv('time,v\n', 'x.csv'), /x\.csv: header must have "timestamp" and "value"/);
  assert.throws(() => parseNabCsv('timestamp,value\n2014-02-14 14:27:00,abc\n', 'x.csv'), /x\.csv:2: value "abc" is not a number/);
  assert.throws(() => parseNabCsv('timestamp,value\n2014-02-14 14:27:00,1\n2014-02-14 14:22:00,1\n', 'x.csv'), /x\.csv:3: .*before the previous one/);
  assert.throws(() => parseNabWindows('{"a.csv": [["2014-02-14 14:27:00"]]}'), /window 0 must be a pair/);
});

test('results files for a real NAB file have NAB columns, values and window labels, at <detector>/<category>/<detector>_<file>', () => {
  const out = mkdtempSync(join(tmpdir(), 'hefery-nab-'));
  try {
    const series = readNabCsv(join(NAB, FILE));
    const labels = readNabWindows(join(NAB, 'windows.json'));
    const l = labelsFor(labels, FILE);
    assert.ok(l);
    assert.equal(l.category, 'realAWSCloudwatch');
    const trace = nabTrace(series, l.windows, l.category);
    const d = new EwmaDetector();
    d.fit(trace.rows.slice(0, trace.trainUntil));
    const scores = d.score(trace.rows);
    const path = writeNabResults(out, 'ewma', l.category, series, scores, l.windows);
    assert.equal(path, join(out, 'ewma', 'realAWSCloudwatch', `ewma_${FILE}`));

    const input = readFileSync(join(NAB, FILE), 'utf8').trim().split('\n');
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    assert.equal(lines[0], 'timestamp,value,anomaly_score,label');
    assert.equal(lines.length, input.length);
    let ones = 0;
    for (let i = 1; i < lines.length; i++) {
      const [ts, value, score, label] = lines[i].split(',');
      assert.equal(`${ts},${value}`, input[i], `row ${i} keeps timestamp and value`);
      assert.equal(Number(score), scores[i - 1]);
      const t = parseNabTimestamp(ts);
      const inside = l.windows.some(([a, b]) => t >= a && t <= b);
      assert.equal(label, inside ? '1' : '0');
      if (label === '1') ones++;
    }
    // The two windows of this file cover rows 3447..3647 and 3677..3877.
    assert.equal(ones, 201 + 201);
    assert.deepEqual(l.windows.map(([a, b]) => windowRowRange(series.timestamps, a, b)), [[3447, 3647], [3677, 3877]]);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('the whole shared NAB corpus reads, repeated timestamps included', () => {
  const corpus = readNabCorpus(NAB);
  assert.equal(corpus.length, 9);
  assert.equal(corpus.reduce((a, f) => a + f.windows.length, 0), 14);
  const disk = corpus.find((f) => f.series.file === 'ec2_disk_write_bytes_1ef3de.csv');
  assert.ok(disk);
  assert.equal(disk.series.timestamps.length, 4730);
  assert.equal(nabTrace(disk.series, disk.windows).meta?.metric, 'disk');
});

test('scaled sigmoid: 0.98661 at the window start, 0 at its end, -0.98661 one width later, -1 from 3 widths', () => {
  assert.ok(Math.abs(scaledSigmoid(-1) - 0.98661) < 1e-5);
  assert.ok(Math.abs(scaledSigmoid(-0.5) - 0.84828) < 1e-5);
  assert.equal(scaledSigmoid(0), 0);
  assert.ok(Math.abs(scaledSigmoid(1) + 0.98661) < 1e-5);
  assert.equal(scaledSigmoid(3), -1);
  assert.equal(probationaryLength(4032), 604);
  assert.equal(probationaryLength(10_000), 750);
});

test('NAB scorer: the perfect detector scores 100, the null detector 0, and a hand-computed file matches', () => {
  const corpus = readNabCorpus(NAB);
  const perfect = corpus.map((f) => {
    const ranges = f.windows.map(([a, b]) => windowRowRange(f.series.timestamps, a, b) as [number, number]);
    return nabFileScores(f, f.series.timestamps.map((_, i) => (ranges.some(([l]) => l === i) ? 1 : 0)));
  });
  const p = scoreCorpus(perfect);
  assert.ok(Math.abs(p.normalized - 100) < 1e-9, `perfect ${p.normalized}`);
  assert.equal(p.perfect, 14);
  assert.equal(p.nullRaw, -14);
  const nul = scoreCorpus(corpus.map((f) => nabFileScores(f, f.series.timestamps.map(() => 0.5))));
  assert.equal(nul.normalized, 0);
  const zero = scoreCorpus(corpus.map((f) => nabFileScores(f, f.series.timestamps.map(() => 0))));
  assert.equal(zero.normalized, 0);

  // 100 rows, probation 15 rows, one window at rows 40..59 (width 20).
  const scores = new Array<number>(100).fill(0);
  scores[10] = 1; // probationary: ignored
  scores[50] = 1; // in the window, position -(59-50+1)/20 = -0.5
  scores[60] = 1; // one row after the window: position 1/19
  scores[90] = 1; // 31 rows after: position 31/19
  const sig = (x: number) => 1 / (1 + Math.exp(-x));
  const tp = (2 * sig(2.5) - 1) / (2 * sig(5) - 1);
  const fp1 = 0.11 * (2 * sig((-5 * 1) / 19) - 1);
  const fp2 = 0.11 * (2 * sig((-5 * 31) / 19) - 1);
  const f = scoreFile({ name: 'hand', scores, windows: [[40, 59]] }, 0.5, STANDARD_PROFILE);
  assert.ok(Math.abs(f.score - (tp + fp1 + fp2)) < 1e-12, `${f.score} vs ${tp + fp1 + fp2}`);
  assert.deepEqual([f.tp, f.fp, f.fn], [1, 2, 0]);
  // Before any window a false positive costs the full fpWeight; a missed window costs fnWeight.
  const early = new Array<number>(100).fill(0);
  early[20] = 1;
  assert.ok(Math.abs(scoreFile({ name: 'e', scores: early, windows: [[40, 59]] }, 0.5).score - (-0.11 - 1)) < 1e-12);
});

test('NAB scorer: an early detection in the window is worth more than a late one', () => {
  const at = (i: number) => {
    const s = new Array<number>(100).fill(0);
    s[i] = 1;
    return scoreFile({ name: 'x', scores: s, windows: [[40, 59]] }, 0.5).score;
  };
  assert.ok(Math.abs(at(40) - 1) < 1e-12);
  assert.ok(at(40) > at(50) && at(50) > at(59) && at(59) > 0);
});

test('hefery-agent evaluate --nab writes one results file per data file and detector, and a JSON report with the NAB score', async () => {
  const { run } = await import('../../src/cli/evaluate');
  const out = mkdtempSync(join(tmpdir(), 'hefery-nab-cli-'));
  try {
    const json = join(out, 'report.json');
    assert.equal(await run(['--nab', NAB, '--detectors', 'threshold,ewma', '--thresholds', '0.5', '--nab-out', join(out, 'results'), '--json', json]), 0);
    for (const det of ['threshold', 'ewma']) {
      const dir = join(out, 'results', det, 'realAWSCloudwatch');
      const files = readdirSync(dir).sort();
      assert.equal(files.length, 9);
      assert.ok(files.every((f) => f.startsWith(`${det}_ec2_`) && f.endsWith('.csv')));
    }
    const doc = JSON.parse(readFileSync(json, 'utf8')) as { profile: string; detectors: Array<{ detector: string; nab: { normalized: number; perfect: number; nullRaw: number } }> };
    assert.equal(doc.profile, 'standard');
    for (const d of doc.detectors) {
      assert.equal(d.nab.perfect, 14);
      assert.equal(d.nab.nullRaw, -14);
      assert.ok(d.nab.normalized > -100 && d.nab.normalized < 100, `${d.detector} ${d.nab.normalized}`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
