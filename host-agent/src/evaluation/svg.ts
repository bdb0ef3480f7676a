// A small, pure SVG line-plot writer for the results page (no dependencies).

export interface Series {
  name: string;
  points: ReadonlyArray<readonly [number, number]>;
  color: string;
  dash?: string;
  /** Draw the points as dots as well as a line. */
  markers?: boolean;
}

export interface PanelOptions {
  width: number;
  height: number;
  title?: string;
  xLabel?: string;
  yLabel?: string;
  series: readonly Series[];
  xDomain?: readonly [number, number];
  yDomain?: readonly [number, number];
  /** Shaded x intervals (fault windows). */
  bands?: ReadonlyArray<readonly [number, number]>;
  /** Dashed horizontal reference lines. */
  hLines?: ReadonlyArray<{ y: number; label: string }>;
  xTick?: (x: number) => string;
  yTick?: (y: number) => string;
  legend?: boolean;
}

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** About `count` round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((k) => k * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function extent(values: number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!Number.isFinite(lo)) return [0, 1];
  return lo === hi ? [lo - 1, hi + 1] : [lo, hi];
}

const f1 = (x: number) => (Math.round(x * 10) / 10).toString();

/** One plot panel as an SVG <g>, its top-left corner at (x0, y0). */
export function panel(o: PanelOptions, x0 = 0, y0 = 0): string {
  const m = { left: 62, right: 14, top: o.title ? 26 : 10, bottom: o.xLabel ? 42 : 26 };
  const w = o.width - m.left - m.right;
  const h = o.height - m.top - m.bottom;
  const [xlo, xhi] = o.xDomain ?? extent(o.series.flatMap((s) => s.points.map((p) => p[0])));
  const [ylo, yhi] = o.yDomain ?? extent(o.series.flatMap((s) => s.points.map((p) => p[1])));
  const sx = (x: number) => m.left + ((x - xlo) / (xhi - xlo || 1)) * w;
  const sy = (y: number) => m.top + h - ((y - ylo) / (yhi - ylo || 1)) * h;
  const xt = o.xTick ?? ((x: number) => String(x));
  const yt = o.yTick ?? ((y: number) => String(y));
  const parts: string[] = [`<g transform="translate(${x0},${y0})" font-family="sans-serif" font-size="11">`];
  if (o.title) parts.push(`<text x="${m.left}" y="16" font-size="13" font-weight="bold">${escapeXml(o.title)}</text>`);
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${w}" height="${h}" fill="#fff" stroke="#999"/>`);
  for (const [a, b] of o.bands ?? []) {
    const l = Math.max(m.left, sx(a));
    const r = Math.min(m.left + w, sx(b));
    if (r > l) parts.push(`<rect x="${f1(l)}" y="${m.top}" width="${f1(r - l)}" height="${h}" fill="#f4b6b6" fill-opacity="0.45"/>`);
  }
  for (const t of niceTicks(xlo, xhi, 6)) {
    const x = f1(sx(t));
    parts.push(`<line x1="${x}" x2="${x}" y1="${m.top + h}" y2="${m.top + h + 4}" stroke="#666"/><text x="${x}" y="${m.top + h + 16}" text-anchor="middle">${escapeXml(xt(t))}</text>`);
  }
  for (const t of niceTicks(ylo, yhi, 5)) {
    const y = f1(sy(t));
    parts.push(`<line x1="${m.left}" x2="${m.left + w}" y1="${y}" y2="${y}" stroke="#eee"/><text x="${m.left - 6}" y="${y}" dy="4" text-anchor="end">${escapeXml(yt(t))}</text>`);
  }
  for (const hl of o.hLines ?? []) {
    const y = f1(sy(hl.y));
    parts.push(`<line x1="${m.left}" x2="${m.left + w}" y1="${y}" y2="${y}" stroke="#555" stroke-dasharray="4 3"/><text x="${m.left + w - 4}" y="${y}" dy="-3" text-anchor="end" fill="#555">${escapeXml(hl.label)}</text>`);
  }
  if (o.xLabel) parts.push(`<text x="${m.left + w / 2}" y="${o.height - 6}" text-anchor="middle">${escapeXml(o.xLabel)}</text>`);
  if (o.yLabel) parts.push(`<text transform="translate(14,${m.top + h / 2}) rotate(-90)" text-anchor="middle">${escapeXml(o.yLabel)}</text>`);
  parts.push(`<clipPath id="c${x0}_${y0}"><rect x="${m.left}" y="${m.top}" width="${w}" height="${h}"/></clipPath>`);
  for (const s of o.series) {
    if (s.points.length === 0) continue;
    const d = s.points.map((p, i) => `${i ? 'L' : 'M'}${f1(sx(p[0]))},${f1(sy(p[1]))}`).join('');
    parts.push(`<path d="${d}" fill="none" stroke="${escapeXml(s.color)}" stroke-width="1.4"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''} clip-path="url(#c${x0}_${y0})"/>`);
    if (s.markers) for (const p of s.points) parts.push(`<circle cx="${f1(sx(p[0]))}" cy="${f1(sy(p[1]))}" r="2.2" fill="${escapeXml(s.color)}"/>`);
  }
  if (o.legend !== false && o.series.length > 0) {
    o.series.forEach((s, i) => {
      const y = m.top + 14 + i * 15;
      parts.push(`<line x1="${m.left + w - 190}" x2="${m.left + w - 170}" y1="${y - 4}" y2="${y - 4}" stroke="${escapeXml(s.color)}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/><text x="${m.left + w - 165}" y="${y}">${escapeXml(s.name)}</text>`);
    });
  }
  parts.push('</g>');
  return parts.join('\n');
}

/** Panels stacked vertically in one SVG document. */
export function svgDocument(panels: readonly PanelOptions[]): string {
  const width = Math.max(...panels.map((p) => p.width));
  let y = 0;
  const body = panels.map((p) => {
    const g = panel(p, 0, y);
    y += p.height;
    return g;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}">\n<rect width="100%" height="100%" fill="#fff"/>\n${body.join('\n')}\n</svg>\n`;
}
