// Tiny DOM helpers: elements built from data, text set as text (never as
// HTML), attributes set one by one (inline style attributes would be refused
// by the panels' CSP anyway).

type Child = Node | string | null | undefined | false;

type Attrs = Record<string, string | number | boolean | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs, ...children: Child[]): HTMLElementTagNameMap[K];
/** Custom elements (the toolkit's vscode-*). */
export function h(tag: `${string}-${string}`, attrs?: Attrs, ...children: Child[]): HTMLElement;
export function h(tag: string, attrs: Attrs = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, ...children);
  return el;
}

export function setAttrs(el: Element, attrs: Attrs): void {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) el.removeAttribute(k);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

export function append(el: Node, ...children: Child[]): void {
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
}

export function replaceChildren(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, ...children);
}

/** A table with a caption and a header row: the accessible form of a chart. */
export function table(caption: string, headers: readonly string[], rows: readonly (readonly string[])[], opts: { rowHeaders?: boolean } = {}): HTMLTableElement {
  return h('table', { class: 'data' },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, ...headers.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((c, i) => (opts.rowHeaders && i === 0 ? h('th', { scope: 'row' }, c) : h('td', {}, c)))))));
}

/** Text only a screen reader reads. */
export function srOnly(text = ''): HTMLElement {
  return h('span', { class: 'sr-only' }, text);
}
