// A uPlot line chart themed from VS Code, sized to its container, redrawn
// at most a few times a second, and described for screen readers: the
// figure is role="img" with a label and a text summary that follows the
// data. `data-points` on the figure counts the values drawn (the e2e tests
// read it).

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { drawnValues, type Columns } from '../lib/points';
import { throttle } from '../lib/throttle';
import { h } from '../ui';
import { onThemeChange, readTheme, type ChartTheme } from './theme';

export interface SeriesSpec {
  label: string;
  /** Index into the theme's palette. */
  color: number;
  scale: string;
  format: (v: number) => string;
  /** Step after each point (interval in force until the next). */
  stepped?: boolean;
  /** Markers only, no line (events such as pins). */
  markersOnly?: boolean;
  /** A marker on every value as well as the line (few values, e.g. iterations). */
  markers?: boolean;
  dash?: number[];
}

export interface AxisSpec {
  scale: string;
  label: string;
  side: 'left' | 'right';
  /** Tick labels (series values in the legend use the series' own format). */
  format: (v: number) => string;
  range?: [number, number];
  log?: boolean;
}

export interface HLine {
  value: number;
  scale: string;
  label: string;
}

export interface ChartSpec {
  id: string;
  title: string;
  height: number;
  /** x holds epoch seconds (time axis) or plain numbers (iterations). */
  time: boolean;
  xLabel: string;
  series: SeriesSpec[];
  axes: AxisSpec[];
  /** Text for screen readers (and the caption) for the current data. */
  summarize(cols: Columns): string;
  hLines?(): HLine[];
  /** Redraws at most this often (ms). */
  throttleMs?: number;
}

export class TimeChart {
  readonly el: HTMLElement;
  private readonly canvasHost: HTMLElement;
  private readonly caption: HTMLElement;
  private plot: uPlot | undefined;
  private data: Columns = [[]];
  private readonly redraw: ReturnType<typeof throttle>;
  private width = 0;

  constructor(private spec: ChartSpec) {
    this.canvasHost = h('div', { class: 'chart-canvas', 'aria-hidden': 'true' });
    this.caption = h('figcaption', { class: 'chart-summary', id: `${spec.id}-summary` });
    this.el = h('figure', { class: 'chart', id: spec.id, role: 'img', 'aria-label': spec.title, 'aria-describedby': `${spec.id}-summary`, 'data-points': '0' },
      this.canvasHost, this.caption);
    this.redraw = throttle(() => this.render(), spec.throttleMs ?? 250);
    new ResizeObserver(() => {
      const w = Math.floor(this.canvasHost.clientWidth);
      if (w > 0 && w !== this.width) {
        this.width = w;
        if (this.plot) this.plot.setSize({ width: w, height: spec.height });
        else this.redraw.schedule();
      }
    }).observe(this.canvasHost);
    onThemeChange(() => this.rebuild());
  }

  setData(cols: Columns): void {
    this.data = cols;
    this.redraw.schedule();
  }

  /** Replaces the series (e.g. one per restart of a new training job); data must follow with setData. */
  setSeries(series: SeriesSpec[]): void {
    this.spec = { ...this.spec, series };
    this.data = [[], ...series.map(() => [])];
    this.rebuild();
  }

  /** Redraws without new data (e.g. the threshold lines changed). */
  refresh(): void {
    this.redraw.schedule();
  }

  private rebuild(): void {
    this.plot?.destroy();
    this.plot = undefined;
    this.redraw.schedule();
  }

  private render(): void {
    const points = drawnValues(this.data);
    this.el.setAttribute('data-points', String(points));
    const summary = this.spec.summarize(this.data);
    this.caption.textContent = summary;
    if (this.width === 0) return;
    if (!this.plot) this.plot = new uPlot(this.options(readTheme()), this.data as uPlot.AlignedData, this.canvasHost);
    else this.plot.setData(this.data as uPlot.AlignedData);
  }

  private options(t: ChartTheme): uPlot.Options {
    const s = this.spec;
    const axisBase = { stroke: t.muted, font: t.font, labelFont: t.font, grid: { stroke: t.grid, width: 1 }, ticks: { stroke: t.grid, width: 1 } };
    const scales: uPlot.Scales = { x: { time: s.time } };
    for (const a of s.axes) scales[a.scale] = { ...(a.range ? { range: a.range } : {}), ...(a.log ? { distr: 3 } : {}) };
    return {
      width: this.width,
      height: s.height,
      scales,
      legend: { show: true, live: true },
      cursor: { drag: { x: false, y: false } },
      series: [
        { label: s.xLabel, value: s.time ? '{YYYY}-{MM}-{DD} {HH}:{mm}:{ss}' : (_u, v) => (v === null ? '' : String(v)) },
        ...s.series.map((x): uPlot.Series => ({
          label: x.label,
          scale: x.scale,
          stroke: t.palette[x.color % t.palette.length],
          width: 2,
          dash: x.dash,
          spanGaps: false,
          value: (_u, v) => (v === null || v === undefined ? '—' : x.format(v)),
          ...(x.stepped ? { paths: uPlot.paths.stepped!({ align: 1 }) } : {}),
          ...(x.markersOnly
            ? { paths: () => null, points: { show: true, size: 10, width: 2, stroke: t.palette[x.color % t.palette.length], fill: t.background } }
            : { points: x.markers ? { show: true, size: 6, width: 1, stroke: t.palette[x.color % t.palette.length], fill: t.palette[x.color % t.palette.length] } : { show: false } }),
        })),
      ],
      axes: [
        // Iterations are whole numbers: no ticks between them.
        { ...axisBase, label: s.xLabel, labelSize: 20, ...(s.time ? {} : { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000], values: (_u, vals) => vals.map(String) }) },
        ...s.axes.map((a): uPlot.Axis => ({
          ...axisBase,
          scale: a.scale,
          label: a.label,
          labelSize: 20,
          side: a.side === 'left' ? 3 : 1,
          size: a.side === 'left' ? 70 : 90,
          values: (_u, vals) => vals.map((v) => (v === null ? '' : a.format(v))),
          ...(a.side === 'right' ? { grid: { show: false } } : {}),
        })),
      ],
      hooks: { draw: [(u) => this.drawHLines(u, t)] },
    };
  }

  private drawHLines(u: uPlot, t: ChartTheme): void {
    const lines = this.spec.hLines?.() ?? [];
    if (!lines.length) return;
    const ctx = u.ctx;
    const dpr = window.devicePixelRatio || 1;
    ctx.save();
    // Reference lines in the theme's secondary text colour: they must not pass for data.
    ctx.strokeStyle = t.muted;
    ctx.fillStyle = t.muted;
    ctx.lineWidth = dpr;
    ctx.setLineDash([6 * dpr, 4 * dpr]);
    // uPlot leaves its own text settings on the context (right-aligned axis labels).
    ctx.textAlign = 'left';
    ctx.textBaseline = 'bottom';
    ctx.font = t.font.replace(/^(\d+(?:\.\d+)?)px/, (_m, n: string) => `${Number(n) * dpr}px`);
    for (const l of lines) {
      const y = u.valToPos(l.value, l.scale, true);
      ctx.beginPath();
      ctx.moveTo(u.bbox.left, y);
      ctx.lineTo(u.bbox.left + u.bbox.width, y);
      ctx.stroke();
      ctx.fillText(l.label, u.bbox.left + 6 * dpr, y - 3 * dpr);
    }
    ctx.restore();
  }
}
