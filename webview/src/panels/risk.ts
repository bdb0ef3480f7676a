// Live risk panel: the domain's risk over time with the policy's thresholds,
// the raw metrics below it, the latest figures, and the recent points as a
// table for screen readers.

import { TimeChart } from '../charts/timeChart';
import { formatInterval, formatPct, formatProb, formatRate, formatTime } from '../lib/format';
import { metricColumns, PointSeries, riskColumns } from '../lib/points';
import { describeMode } from '../lib/steps';
import { throttle } from '../lib/throttle';
import type { ProtectionStatus } from '../../../host-agent/src/protocol/api';
import { startPanel } from '../shell';
import { h, table } from '../ui';

const WINDOW_MS = 30 * 60_000;
const TABLE_ROWS = 20;

const series = new PointSeries(WINDOW_MS);
let thresholds: number[] = [];
let protection: ProtectionStatus | null = null;

const riskChart = new TimeChart({
  id: 'risk-chart',
  title: 'Risk over time',
  height: 240,
  time: true,
  xLabel: 'time',
  series: [{ label: 'risk (next step)', color: 1, scale: 'risk', format: formatProb }],
  axes: [{ scale: 'risk', label: 'P(abnormal)', side: 'left', range: [0, 1], format: (v) => `${Math.round(v * 100)}%` }],
  hLines: () => thresholds.map((v, i) => ({
    value: v, scale: 'risk', label: thresholds.length === 2 ? `${i === 0 ? 'may relax below' : 'safest interval from'} ${formatProb(v)}` : `threshold ${formatProb(v)}`,
  })),
  summarize: () => {
    const withRisk = series.all.filter((p) => p.risk !== null);
    if (!withRisk.length) return series.size ? `${series.size} samples, no risk yet (the domain has no model or the agent is unsure).` : 'No samples yet.';
    const risks = withRisk.map((p) => p.risk!);
    const last = withRisk[withRisk.length - 1];
    return `${withRisk.length} risk values over the last ${Math.round(WINDOW_MS / 60_000)} minutes; now ${formatProb(last.risk)}, highest ${formatProb(Math.max(...risks))}${thresholds.length ? `; thresholds at ${thresholds.map(formatProb).join(', ')}` : ''}.`;
  },
});

const metricsChart = new TimeChart({
  id: 'metrics-chart',
  title: 'Raw metrics over time',
  height: 240,
  time: true,
  xLabel: 'time',
  series: [
    { label: 'CPU', color: 0, scale: '%', format: formatPct },
    { label: 'memory', color: 2, scale: '%', format: formatPct },
    { label: 'network', color: 4, scale: 'B/s', format: formatRate },
    { label: 'disk', color: 5, scale: 'B/s', format: formatRate, dash: [4, 3] },
  ],
  axes: [
    { scale: '%', label: 'CPU, memory (%)', side: 'left', range: [0, 100], format: (v) => `${v}%` },
    { scale: 'B/s', label: 'network, disk', side: 'right', format: formatRate },
  ],
  summarize: () => {
    const last = series.all[series.size - 1];
    if (!last) return 'No samples yet.';
    const s = last.sample;
    return `${series.size} samples; latest at ${formatTime(s.ts)}: CPU ${formatPct(s.cpuPct)}, memory ${formatPct(s.memPct)}, network ${formatRate(sum(s.netRxBps, s.netTxBps))}, disk ${formatRate(sum(s.diskRdBps, s.diskWrBps))}.`;
  },
});

function sum(a: number | null, b: number | null): number | null {
  return a === null && b === null ? null : (a ?? 0) + (b ?? 0);
}

const now = h('dl', { class: 'figures', 'aria-label': 'Latest figures' });
const recent = h('details', { class: 'table-alt' });

function figure(term: string, value: string, id: string): HTMLElement[] {
  return [h('dt', {}, term), h('dd', { id }, value)];
}

const renderText = throttle(() => {
  const last = series.all[series.size - 1];
  const lastRisk = [...series.all].reverse().find((p) => p.risk !== null);
  now.replaceChildren(
    ...figure('Risk', lastRisk ? formatProb(lastRisk.risk) : 'n/a', 'fig-risk'),
    ...figure('State', last ? last.sample.state : 'n/a', 'fig-state'),
    ...figure('Checkpoint interval', protection ? formatInterval(protection.intervalMs) : 'n/a', 'fig-interval'),
    ...figure('Mode', describeMode(protection, formatTime), 'fig-mode'),
  );
  const rows = series.all.slice(-TABLE_ROWS).reverse().map((p) => [
    formatTime(p.sample.ts), formatProb(p.risk), formatPct(p.sample.cpuPct), formatPct(p.sample.memPct),
    formatRate(sum(p.sample.netRxBps, p.sample.netTxBps)), formatRate(sum(p.sample.diskRdBps, p.sample.diskWrBps)),
  ]);
  recent.replaceChildren(h('summary', {}, `Latest ${rows.length} samples as a table`),
    table('Latest samples, newest first', ['time', 'risk', 'CPU', 'memory', 'network', 'disk'], rows));
}, 500);

function redraw(): void {
  riskChart.setData(riskColumns(series.all));
  metricsChart.setData(metricColumns(series.all));
  renderText.schedule();
}

startPanel('risk', 'Live risk', (m) => {
  if (m.type === 'init') {
    series.clear();
    redraw();
  } else if (m.type === 'samples') {
    series.add(m.points);
    redraw();
  } else if (m.type === 'protection') {
    protection = m.status;
    const changed = thresholds.join() !== m.thresholds.join();
    thresholds = m.thresholds;
    if (changed) riskChart.refresh();
    renderText.schedule();
  }
}).content.append(
  now,
  h('section', { 'aria-labelledby': 'risk-h' }, h('h2', { id: 'risk-h' }, 'Risk'), riskChart.el),
  h('section', { 'aria-labelledby': 'metrics-h' }, h('h2', { id: 'metrics-h' }, 'Raw metrics'), metricsChart.el),
  recent,
);
