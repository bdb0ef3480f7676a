// Checkpoint frequency panel: the interval in force over time as a step
// chart with the overrides (pins) marked, the current mode, and every
// decision with its reason in a table.

import type { Decision, ProtectionStatus } from '../../../host-agent/src/protocol/api';
import { TimeChart } from '../charts/timeChart';
import { formatInterval, formatProb, formatTime } from '../lib/format';
import { DecisionLog, describeMode, intervalSteps } from '../lib/steps';
import { throttle } from '../lib/throttle';
import { startPanel } from '../shell';
import { h, table } from '../ui';

const WINDOW_MS = 24 * 3_600_000;
const TABLE_ROWS = 200;

const log = new DecisionLog();
let status: ProtectionStatus | null = null;

const chart = new TimeChart({
  id: 'interval-chart',
  title: 'Checkpoint interval over time',
  height: 260,
  time: true,
  xLabel: 'time',
  series: [
    { label: 'interval', color: 0, scale: 'ms', format: formatInterval, stepped: true },
    { label: 'override (pin)', color: 3, scale: 'ms', format: formatInterval, markersOnly: true },
  ],
  axes: [{ scale: 'ms', label: 'interval', side: 'left', format: formatInterval, log: true }],
  summarize: () => {
    const applied = log.all.filter((d) => d.applied);
    const pins = applied.filter((d) => d.kind === 'override').length;
    const current = status ? formatInterval(status.intervalMs) : 'unknown';
    return `${applied.length} interval changes in the last 24 hours, ${pins} of them overrides; current interval ${current}, ${describeMode(status, formatTime)}.`;
  },
});

const statusLine = h('dl', { class: 'figures', 'aria-label': 'Current replication status' });
const decisionsHost = h('div', { class: 'decisions' });

const KIND_TEXT: Record<Decision['kind'], string> = {
  auto: 'automatic', override: 'override (pin)', resume: 'resume automatic', failsafe: 'fail-safe', startup: 'start-up', shutdown: 'shut-down',
};

function decisionRows(): string[][] {
  return log.all.slice(-TABLE_ROWS).reverse().map((d) => [
    formatTime(d.ts),
    KIND_TEXT[d.kind],
    `${formatInterval(d.oldIntervalMs)} → ${formatInterval(d.newIntervalMs)}`,
    formatProb(d.risk),
    d.who,
    d.applied ? d.reason : `${d.reason} (not applied${d.error ? `: ${d.error}` : ''})`,
  ]);
}

const render = throttle(() => {
  const now = Date.now();
  const steps = intervalSteps(log.all, status, now, now - WINDOW_MS);
  chart.setData([steps.xs, steps.intervals, steps.pins]);
  statusLine.replaceChildren(
    h('dt', {}, 'Interval'), h('dd', { id: 'fig-interval' }, status ? formatInterval(status.intervalMs) : 'n/a'),
    h('dt', {}, 'Mode'), h('dd', { id: 'fig-mode' }, describeMode(status, formatTime)),
    h('dt', {}, 'Backend'), h('dd', {}, status?.backend ?? 'n/a'),
    h('dt', {}, 'Why'), h('dd', {}, status?.reason ?? 'n/a'),
  );
  const rows = decisionRows();
  decisionsHost.replaceChildren(rows.length
    ? table(`Decisions, newest first (${rows.length} of ${log.size})`, ['time', 'kind', 'interval', 'risk', 'who', 'reason'], rows)
    : h('p', {}, 'No interval decisions in the last 24 hours.'));
  decisionsHost.querySelectorAll('tbody tr').forEach((tr, i) => {
    const kind = log.all[log.all.length - 1 - i]?.kind;
    if (kind) tr.setAttribute('data-kind', kind);
  });
}, 500);

// The last step reaches "now": keep it moving while the panel is open.
setInterval(() => render.schedule(), 10_000);

startPanel('frequency', 'Checkpoint frequency', (m) => {
  if (m.type === 'init') {
    log.clear();
    render.schedule();
  } else if (m.type === 'decisions') {
    log.add(m.decisions);
    render.schedule();
  } else if (m.type === 'protection') {
    status = m.status;
    render.schedule();
  }
}).content.append(
  statusLine,
  h('section', { 'aria-labelledby': 'interval-h' }, h('h2', { id: 'interval-h' }, 'Checkpoint interval'), chart.el),
  h('section', { 'aria-labelledby': 'decisions-h' }, h('h2', { id: 'decisions-h' }, 'Decisions'), decisionsHost),
);
