// Heat maps of the learned matrices: colour of each cell between two theme
// colours, and the words a screen reader gets instead of the picture.

export type Rgb = [number, number, number];

/** Parses #rgb, #rrggbb, #rrggbbaa and rgb()/rgba() as CSS computes them; undefined otherwise. */
export function parseColor(css: string): Rgb | undefined {
  const s = css.trim();
  let m = /^#([0-9a-f]{3})$/i.exec(s);
  if (m) return [0, 1, 2].map((i) => parseInt(m![1][i] + m![1][i], 16)) as Rgb;
  m = /^#([0-9a-f]{6})([0-9a-f]{2})?$/i.exec(s);
  if (m) return [0, 2, 4].map((i) => parseInt(m![1].slice(i, i + 2), 16)) as Rgb;
  m = /^rgba?\(\s*(\d+(?:\.\d+)?)[\s,]+(\d+(?:\.\d+)?)[\s,]+(\d+(?:\.\d+)?)/i.exec(s);
  if (m) return [Number(m[1]), Number(m[2]), Number(m[3])].map((v) => Math.min(255, Math.round(v))) as Rgb;
  return undefined;
}

/** Linear mix of two colours, t in 0..1 (clamped). */
export function mix(a: Rgb, b: Rgb, t: number): string {
  const u = Math.min(1, Math.max(0, t));
  const c = a.map((x, i) => Math.round(x + (b[i] - x) * u));
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

/** Relative luminance (WCAG), to pick a readable text colour on a cell. */
export function luminance([r, g, b]: Rgb): number {
  const f = (v: number) => {
    const s = v / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
}

/** One sentence per row: its largest entries, for the chart's accessible summary. */
export function describeMatrix(rows: readonly (readonly number[])[], rowNames: readonly string[], colName: (j: number) => string, top = 2): string {
  return rows.map((row, i) => {
    const order = row.map((v, j) => [v, j] as const).sort((a, b) => b[0] - a[0]).slice(0, top);
    const parts = order.map(([v, j]) => `${colName(j)} ${(v * 100).toFixed(0)} %`);
    return `${rowNames[i] ?? `state ${i}`}: ${parts.join(', ')}`;
  }).join('; ');
}
