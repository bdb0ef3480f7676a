// Chart colours and fonts from the VS Code theme (--vscode-* variables), read
// from computed styles because canvas cannot use CSS variables. A theme
// switch changes the variables on <html> and the class of <body>; charts
// re-read them then.

import { parseColor } from '../lib/heat';

export interface ChartTheme {
  foreground: string;
  muted: string;
  grid: string;
  background: string;
  font: string;
  /** Series colours in order: blue, red, green, yellow, purple, orange. */
  palette: string[];
  red: string;
  accent: string;
}

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

/** Some themes give the chart colours an alpha; a 2 px line needs them opaque. */
function opaque(css: string): string {
  const c = parseColor(css);
  return c ? `rgb(${c[0]}, ${c[1]}, ${c[2]})` : css;
}

export function readTheme(): ChartTheme {
  const fontSize = cssVar('--vscode-font-size', '13px');
  const family = cssVar('--vscode-font-family', 'sans-serif');
  const palette = ['blue', 'red', 'green', 'yellow', 'purple', 'orange'].map((c, i) => opaque(cssVar(`--vscode-charts-${c}`, ['#3794ff', '#f14c4c', '#89d185', '#cca700', '#b180d7', '#d18616'][i])));
  return {
    foreground: cssVar('--vscode-editor-foreground', cssVar('--vscode-foreground', '#cccccc')),
    muted: cssVar('--vscode-descriptionForeground', '#9d9d9d'),
    grid: cssVar('--vscode-editorWidget-border', cssVar('--vscode-panel-border', '#80808040')),
    background: cssVar('--vscode-editor-background', '#1e1e1e'),
    font: `${fontSize} ${family}`,
    palette,
    red: palette[1],
    accent: cssVar('--vscode-focusBorder', palette[0]),
  };
}

/** Calls `fn` after every theme switch. */
export function onThemeChange(fn: () => void): void {
  let last = document.body.className;
  const observer = new MutationObserver(() => {
    if (document.body.className === last) return;
    last = document.body.className;
    fn();
  });
  observer.observe(document.body, { attributes: true, attributeFilter: ['class'] });
}
