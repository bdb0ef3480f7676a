// A matrix as an SVG heat map (attributes only, so the CSP needs no inline
// styles), with the numbers in each cell when there is room, a text summary
// for screen readers and the full table behind a disclosure.

import { describeMatrix, luminance, mix, parseColor, type Rgb } from '../lib/heat';
import { h, table } from '../ui';
import { onThemeChange, readTheme } from './theme';

const SVG = 'http://www.w3.org/2000/svg';

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

export interface HeatmapData {
  rows: number[][];
  rowNames: string[];
  colNames: string[];
}

export class Heatmap {
  readonly el: HTMLElement;
  private readonly picture: HTMLElement;
  private readonly summary: HTMLElement;
  private readonly details: HTMLElement;
  private data: HeatmapData | undefined;

  constructor(private readonly id: string, private readonly title: string) {
    this.picture = h('div', { class: 'heatmap-picture', 'aria-hidden': 'true' });
    this.summary = h('figcaption', { class: 'chart-summary', id: `${id}-summary` });
    this.details = h('details', { class: 'table-alt' });
    this.el = h('figure', { class: 'heatmap', id, role: 'img', 'aria-label': title, 'aria-describedby': `${id}-summary`, 'data-cells': '0' },
      this.picture, this.summary);
    onThemeChange(() => this.render());
  }

  /** The table alternative, placed by the panel next to the figure. */
  get tableAlternative(): HTMLElement {
    return this.details;
  }

  set(data: HeatmapData | undefined): void {
    this.data = data;
    this.render();
  }

  private render(): void {
    const d = this.data;
    this.picture.replaceChildren();
    this.details.replaceChildren();
    if (!d || d.rows.length === 0) {
      this.el.setAttribute('data-cells', '0');
      this.summary.textContent = 'No model yet.';
      return;
    }
    const t = readTheme();
    const low = parseColor(t.background) ?? [30, 30, 30];
    const high = parseColor(t.palette[0]) ?? [55, 148, 255];
    const fg = parseColor(t.foreground) ?? [204, 204, 204];
    const cols = d.rows[0].length;
    // Room for the longest row name, and for the column names written at an angle above the cells.
    const charW = 6.5;
    const longest = (names: string[]) => Math.max(4, ...names.map((n) => n.length));
    const labelW = Math.ceil(longest(d.rowNames) * charW) + 12;
    // Wide matrices (emissions over many symbols) get narrow columns, never rows too thin to read.
    const cell = Math.max(6, Math.min(72, Math.floor(640 / Math.max(1, cols))));
    const rowH = Math.max(cell, 24);
    const everyCol = Math.ceil(16 / cell);
    // Colours span 0 .. the largest entry, so a matrix of small probabilities still shows its pattern.
    const top = Math.max(...d.rows.flat(), 1e-9);
    const headH = Math.ceil(longest(d.colNames) * charW * Math.sin(Math.PI / 4)) + 16;
    const width = labelW + cols * cell + Math.ceil(longest(d.colNames) * charW * Math.cos(Math.PI / 4));
    const height = headH + d.rows.length * rowH;
    const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height, class: 'heatmap-svg', 'font-size': 11 });
    const showNumbers = cell >= 34;
    d.colNames.forEach((name, j) => {
      if (j % everyCol !== 0) return;
      const x = labelW + j * cell + cell / 2;
      const y = headH - 6;
      root.appendChild(svg('text', { x, y, 'text-anchor': 'start', fill: t.muted, transform: `rotate(-45 ${x} ${y})` }, name));
    });
    d.rows.forEach((row, i) => {
      root.appendChild(svg('text', { x: labelW - 6, y: headH + i * rowH + rowH / 2 + 4, 'text-anchor': 'end', fill: t.foreground }, d.rowNames[i] ?? `state ${i}`));
      row.forEach((v, j) => {
        const color = mix(low as Rgb, high as Rgb, v / top);
        const rect = svg('rect', { x: labelW + j * cell, y: headH + i * rowH, width: cell - 1, height: rowH - 1, fill: color, class: 'cell' });
        rect.appendChild(svg('title', {}, `${d.rowNames[i]} → ${d.colNames[j]}: ${v.toFixed(3)}`));
        root.appendChild(rect);
        if (showNumbers) {
          const bg = parseColor(color) ?? low;
          const ink = luminance(bg) > 0.4 ? 'rgb(0, 0, 0)' : `rgb(${fg.join(', ')})`;
          root.appendChild(svg('text', { x: labelW + j * cell + cell / 2, y: headH + i * rowH + rowH / 2 + 4, 'text-anchor': 'middle', fill: ink }, v.toFixed(2)));
        }
      });
    });
    this.picture.appendChild(root);
    this.el.setAttribute('data-cells', String(d.rows.length * cols));
    this.summary.textContent = `${this.title}, largest entries per row (colours span 0 to ${top.toFixed(2)}). ${describeMatrix(d.rows, d.rowNames, (j) => d.colNames[j])}.`;
    this.details.append(
      h('summary', {}, `${this.title} as a table`),
      table(this.title, ['from \\ to', ...d.colNames], d.rows.map((r, i) => [d.rowNames[i], ...r.map((v) => v.toFixed(3))]), { rowHeaders: true }),
    );
  }
}
