// Draws a lane run's checkpoint rate over time as a small SVG:
//   node --import tsx scripts/xen-lane/plot.ts [EVENTS.jsonl] [OUT.svg]
// (defaults: .artifacts/xen-lane/remus-events.jsonl -> results/xen-lane/checkpoints.svg)
// Input: the dom0 driver's events written by test/xen/remus.xen.ts. Bars are
// checkpoints sent per second in 5 s bins (xl's "Checkpointed save" lines);
// bands mark the interval in effect, grey bands the restarts (until the new xl
// replicates). The plot ends where the failover test destroys the primary.

import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { SENT, type DriverEvent, type RestartEvent } from '../../test/xen/driver-client';

const root = resolve(__dirname, '..', '..');
const input = process.argv[2] ?? resolve(root, '.artifacts/xen-lane/remus-events.jsonl');
const output = process.argv[3] ?? resolve(root, 'results/xen-lane/checkpoints.svg');

const all = readFileSync(input, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as DriverEvent);
// Up to the first fault (xl exited on its own: the primary was destroyed).
const fault = all.find((e) => e.ev === 'fault' && e.error !== null);
const events = fault ? all.filter((e) => e.t < fault.t) : all;
const sent = events.filter((e) => e.ev === 'xl' && SENT.test(String(e.line))).map((e) => e.t / 1000);
const restarts = events.filter((e): e is RestartEvent => e.ev === 'restart');
if (!sent.length || !restarts.length) throw new Error(`${input}: no checkpoints or restarts to draw`);

const BIN = 5;
const t0 = Math.floor(Math.min(sent[0], restarts[0].t / 1000 - restarts[0].gapMs / 1000));
const t1 = Math.ceil(sent[sent.length - 1]) + BIN;
const tickStep = (max: number) => [0.1, 0.2, 0.5, 1, 2, 5].find((st) => max / st <= 6) ?? 10;
const bins = new Array<number>(Math.ceil((t1 - t0) / BIN)).fill(0);
for (const t of sent) bins[Math.floor((t - t0) / BIN)] += 1 / BIN;
const ystep = tickStep(Math.max(...bins));
const ymax = Math.max(ystep, Math.ceil(Math.max(...bins) / ystep) * ystep);

const W = 720, H = 260, L = 50, R = 10, T = 30, B = 40;
const x = (t: number) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
const y = (v: number) => H - B - (v / ymax) * (H - T - B);
const parts: string[] = [];
parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`);
parts.push(`<text x="${L}" y="16" font-size="13">xl remus under Hefery's xen-remus backend (nested Xen 4.17, TCG): checkpoints sent per second</text>`);
// Bands: from each restart's end (replicating) to the next restart's request.
restarts.forEach((r, i) => {
  const from = r.t / 1000;
  const next = restarts[i + 1];
  const to = next ? next.t / 1000 - next.gapMs / 1000 : t1;
  const fill = r.toMs <= 1000 ? '#dbe9f6' : '#fbe3c8';
  parts.push(`<rect x="${x(from).toFixed(1)}" y="${T}" width="${(x(to) - x(from)).toFixed(1)}" height="${H - T - B}" fill="${fill}"/>`);
  parts.push(`<text x="${(x(from) + 4).toFixed(1)}" y="${T + 12}">-i ${r.toMs} ms</text>`);
  const gapFrom = from - r.gapMs / 1000;
  parts.push(`<rect x="${x(gapFrom).toFixed(1)}" y="${T}" width="${(x(from) - x(gapFrom)).toFixed(1)}" height="${H - T - B}" fill="#eeeeee"/>`);
  parts.push(`<text x="${(x(gapFrom) + 2).toFixed(1)}" y="${T + 26}" fill="#666">${r.fromMs === null ? 'start' : 'restart'} ${(r.gapMs / 1000).toFixed(0)} s</text>`);
});
bins.forEach((v, i) => {
  if (v > 0) parts.push(`<rect x="${x(t0 + i * BIN).toFixed(1)}" y="${y(v).toFixed(1)}" width="${(x(t0 + BIN) - x(t0) - 1).toFixed(1)}" height="${(y(0) - y(v)).toFixed(1)}" fill="#1f5f99"/>`);
});
parts.push(`<line x1="${L}" y1="${y(0)}" x2="${W - R}" y2="${y(0)}" stroke="#333"/><line x1="${L}" y1="${T}" x2="${L}" y2="${y(0)}" stroke="#333"/>`);
for (let v = 0; v <= ymax + 1e-9; v += ystep) parts.push(`<text x="${L - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${v.toFixed(1)}</text>`);
for (let t = 0; t <= t1 - t0; t += 30) parts.push(`<text x="${x(t0 + t).toFixed(1)}" y="${H - B + 14}" text-anchor="middle">${t}</text>`);
parts.push(`<text x="${(W + L) / 2}" y="${H - 6}" text-anchor="middle">seconds (dom0 driver clock)</text>`);
parts.push('</svg>');
writeFileSync(output, parts.join('\n') + '\n');
console.log(`wrote ${output}`);
