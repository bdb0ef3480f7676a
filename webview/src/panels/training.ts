// Training panel: the current model (its data range, likelihood, states and
// their health meaning, transition and emission matrices as heat maps), a
// form to train a new one (history range, restarts, max iterations), the
// log-likelihood per iteration of each restart while it runs, and Cancel.

import type { ModelSummary } from '../../../host-agent/src/protocol/api';
import { Heatmap } from '../charts/heatmap';
import { TimeChart, type SeriesSpec } from '../charts/timeChart';
import { formatDuration, formatTime } from '../lib/format';
import { RangeInputError, resolveRange } from '../lib/ranges';
import { throttle } from '../lib/throttle';
import { TrainingCurves } from '../lib/training';
import type { RangeChoice, ToWebview } from '../shared/messages';
import { startPanel, type Shell } from '../shell';
import { button, h, integerField, progressRing, select, table, textField } from '../ui';

const curves = new TrainingCurves();
let jobId: string | undefined;
let model: ModelSummary | null = null;
let shell: Shell;

const llFormat = (v: number) => (Math.abs(v) >= 1000 ? v.toFixed(0) : v.toFixed(2));

// ---- the live likelihood chart -----------------------------------------------------------

/** One line per restart; past the palette's six colours the lines are dashed. */
function restartSeries(restarts: number): SeriesSpec[] {
  return Array.from({ length: restarts }, (_, i) => ({
    label: `restart ${i + 1}`, color: i, scale: 'll', format: llFormat, markers: true, ...(i >= 6 ? { dash: [5, 3] } : {}),
  }));
}

const chart = new TimeChart({
  id: 'll-chart',
  title: 'Log-likelihood per iteration',
  height: 240,
  time: false,
  xLabel: 'iteration',
  series: restartSeries(1),
  axes: [{ scale: 'll', label: 'log-likelihood', side: 'left', format: (v) => (Math.abs(v) >= 100 ? v.toFixed(0) : String(+v.toFixed(2))) }],
  throttleMs: 200,
  summarize: () => {
    const best = curves.best();
    if (!best) return 'No training run yet in this panel.';
    return `${curves.restartIds.length} of ${curves.restarts} restarts, ${curves.points} iterations in all; best so far restart ${best.restart + 1} with log-likelihood ${llFormat(best.logLikelihood)} after ${best.iterations} iterations.`;
  },
});

chart.el.hidden = true; // until a job starts

/** One column per restart of the job, in restart order, even for restarts that have not reported yet. */
function chartColumns(): [number[], ...Array<Array<number | null>>] {
  const [xs, ...ys] = curves.columns();
  const byRestart = new Map(curves.restartIds.map((r, i) => [r, ys[i]]));
  return [xs, ...Array.from({ length: curves.restarts }, (_, r) => byRestart.get(r) ?? xs.map(() => null))];
}

// ---- the form --------------------------------------------------------------------------------

const RANGES: ReadonlyArray<{ value: RangeChoice; label: string }> = [
  { value: 'hour', label: 'Last hour' },
  { value: 'day', label: 'Last day' },
  { value: 'all', label: 'All history' },
  { value: 'custom', label: 'Custom…' },
];

function save(): void {
  shell.bridge.save({
    range: range.get(), restarts: restarts.valid() ? restarts.get() : undefined, maxIterations: maxIter.valid() ? maxIter.get() : undefined,
  });
}

const range = select<RangeChoice>({ id: 'range', label: 'History range', options: RANGES, value: 'all', onChange: () => { customBox.hidden = range.get() !== 'custom'; save(); } });
const from = textField({ id: 'from', label: 'From (local time)', value: '', placeholder: '2024-05-01 13:00', onChange: () => from.setError(null) });
const to = textField({ id: 'to', label: 'To (empty: now)', value: '', placeholder: '2024-05-01 14:00', onChange: () => to.setError(null) });
const customBox = h('div', { class: 'row custom-range' }, from.el, to.el);
customBox.hidden = true;
const restarts = integerField({ id: 'restarts', label: 'Restarts', value: 3, min: 1, max: 100, onChange: save });
const maxIter = integerField({ id: 'max-iterations', label: 'Max iterations', value: 100, min: 1, max: 10_000, onChange: save });
const trainBtn = button({ id: 'train', label: 'Train', onClick: train });
const cancelBtn = button({ id: 'cancel', label: 'Cancel', secondary: true, onClick: () => jobId && shell.bridge.send({ type: 'cancel', jobId }) });
const progressText = h('p', { id: 'train-status', class: 'train-status', role: 'status', 'aria-live': 'polite' });
const ring = progressRing('Training in progress');

function setRunning(running: boolean): void {
  trainBtn.setDisabled(running);
  cancelBtn.el.hidden = !running;
  ring.hidden = !running;
}

function train(): void {
  if (!restarts.valid() || !maxIter.valid()) return;
  let r;
  try {
    r = resolveRange(range.get(), Date.now(), { from: from.get(), to: to.get() });
  } catch (e) {
    if (e instanceof RangeInputError) (/^to:/.test(e.message) ? to : from).setError(e.message);
    else throw e;
    return;
  }
  progressText.textContent = 'Starting…';
  setRunning(true);
  shell.bridge.send({ type: 'train', request: { from: r.from, to: r.to, restarts: restarts.get(), maxIterations: maxIter.get() } });
}

// ---- the model ------------------------------------------------------------------------------

const modelInfo = h('div', { id: 'model-info' });
const transition = new Heatmap('transition-map', 'Transition matrix');
const emission = new Heatmap('emission-map', 'Emission matrix');

const HEALTH_TEXT = { normal: 'healthy', abnormal: 'abnormal (risk rises)', failed: 'failed' } as const;

function renderModel(): void {
  if (!model) {
    modelInfo.replaceChildren(h('p', {}, 'This domain has no model yet. Train one below: the agent then predicts its risk.'));
    transition.set(undefined);
    emission.set(undefined);
    return;
  }
  const m = model;
  const names = m.states.map((s, i) => s.label || `state ${i}`);
  modelInfo.replaceChildren(
    h('dl', { class: 'figures' },
      h('dt', {}, 'Version'), h('dd', { id: 'model-version' }, m.version),
      h('dt', {}, 'Trained'), h('dd', {}, formatTime(m.createdAt)),
      h('dt', {}, 'Data range'), h('dd', { id: 'model-range' }, `${formatTime(m.trainedFrom)} – ${formatTime(m.trainedTo)} (${formatDuration(m.trainedTo - m.trainedFrom)}, ${m.observations} observations)`),
      h('dt', {}, 'Log-likelihood'), h('dd', { id: 'model-ll' }, `${llFormat(m.logLikelihood)} after ${m.iterations} iterations`),
    ),
    table('Hidden states and their health meaning', ['state', 'health'], m.states.map((s, i) => [names[i], HEALTH_TEXT[s.health]]), { rowHeaders: true }),
  );
  modelInfo.querySelectorAll('tbody tr').forEach((tr, i) => {
    const health = m.states[i]?.health;
    if (health) tr.setAttribute('data-health', health);
  });
  transition.set({ rows: m.transition, rowNames: names, colNames: names });
  emission.set({ rows: m.emission, rowNames: names, colNames: Array.from({ length: m.symbols }, (_, j) => `s${j}`) });
}

// ---- messages -----------------------------------------------------------------------------

const redrawChart = throttle(() => chart.setData(chartColumns()), 200);

function onMessage(msg: ToWebview): void {
  switch (msg.type) {
    case 'init':
      return;
    case 'model':
      model = msg.model;
      return renderModel();
    case 'trainStarted':
      jobId = msg.jobId;
      curves.clear(msg.request.restarts);
      chart.setSeries(restartSeries(msg.request.restarts));
      chart.el.hidden = false;
      redrawChart.schedule();
      setRunning(true);
      progressText.textContent = `Training job ${msg.jobId} started at ${formatTime(msg.at)}.`;
      progressText.removeAttribute('data-result');
      return;
    case 'trainProgress': {
      const p = msg.progress;
      if (p.jobId !== jobId) return;
      curves.add(p);
      redrawChart.schedule();
      progressText.textContent = `Restart ${p.restart + 1} of ${p.restarts}, iteration ${p.iteration}: log-likelihood ${llFormat(p.logLikelihood)}`;
      return;
    }
    case 'trainDone': {
      const d = msg.done;
      if (d.jobId !== jobId) return;
      jobId = undefined;
      setRunning(false);
      redrawChart.flush();
      progressText.textContent = d.ok
        ? `Done: model ${d.model?.version ?? ''} with log-likelihood ${d.model ? llFormat(d.model.logLikelihood) : 'n/a'}.`
        : d.cancelled ? 'Cancelled.' : `Training failed: ${d.error ?? 'no reason given'}`;
      progressText.setAttribute('data-result', d.ok ? 'ok' : d.cancelled ? 'cancelled' : 'failed');
      // A replayed older run must not hide a model trained since.
      if (d.ok && d.model && (!model || d.model.createdAt >= model.createdAt)) {
        model = d.model;
        renderModel();
      }
      return;
    }
    case 'error':
      // A refused model.train leaves the form usable again.
      if (!jobId) setRunning(false);
      return;
    default:
      return;
  }
}

shell = startPanel('training', 'Training', onMessage);

// Restore the user's choices from the saved state.
const v = shell.bridge.savedView;
if (v.range) range.set(v.range);
customBox.hidden = (v.range ?? 'all') !== 'custom';
if (v.restarts) restarts.set(v.restarts);
if (v.maxIterations) maxIter.set(v.maxIterations);
setRunning(false);
renderModel();

shell.content.append(
  h('section', { 'aria-labelledby': 'model-h' }, h('h2', { id: 'model-h' }, 'Current model'), modelInfo),
  h('section', { 'aria-labelledby': 'train-h' }, h('h2', { id: 'train-h' }, 'Train a new model'),
    h('div', { class: 'row' }, range.el, restarts.el, maxIter.el),
    customBox,
    h('div', { class: 'row actions' }, trainBtn.el, cancelBtn.el, ring),
    progressText,
    chart.el),
  h('section', { 'aria-labelledby': 'matrices-h' }, h('h2', { id: 'matrices-h' }, 'Learned matrices'),
    h('h3', {}, 'Transitions between hidden states'), transition.el, transition.tableAlternative,
    h('h3', {}, 'Emissions: observation symbols per state'), emission.el, emission.tableAlternative),
);
