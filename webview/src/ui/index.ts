// The panels' controls. @vscode/webview-ui-toolkit is deprecated upstream,
// so the panels never touch its elements directly: they use these few
// functions, and swapping the toolkit means rewriting this file only.

import {
  provideVSCodeDesignSystem, vsCodeBadge, vsCodeButton, vsCodeDivider, vsCodeDropdown, vsCodeOption,
  vsCodeProgressRing, vsCodeTextField,
} from '@vscode/webview-ui-toolkit';
import { h } from './dom';

export { append, h, replaceChildren, setAttrs, srOnly, table } from './dom';

let registered = false;

/** Registers the toolkit's custom elements (once). */
export function useToolkit(): void {
  if (registered) return;
  provideVSCodeDesignSystem().register(
    vsCodeButton(), vsCodeDropdown(), vsCodeOption(), vsCodeTextField(), vsCodeProgressRing(), vsCodeBadge(), vsCodeDivider(),
  );
  registered = true;
}

export interface Control<T> {
  readonly el: HTMLElement;
  get(): T;
  set(v: T): void;
  setDisabled(disabled: boolean): void;
}

function disabler(el: HTMLElement) {
  return (d: boolean) => {
    if (d) el.setAttribute('disabled', '');
    else el.removeAttribute('disabled');
  };
}

export function button(o: { label: string; onClick: () => void; secondary?: boolean; id?: string; ariaLabel?: string }): Control<void> {
  const el = h('vscode-button', { id: o.id, appearance: o.secondary ? 'secondary' : 'primary', 'aria-label': o.ariaLabel }, o.label);
  el.addEventListener('click', () => {
    if (!el.hasAttribute('disabled')) o.onClick();
  });
  return { el, get: () => undefined, set: () => undefined, setDisabled: disabler(el) };
}

/** A drop-down with a visible label (the toolkit's dropdown has no label slot). */
export function select<T extends string>(o: { id: string; label: string; options: ReadonlyArray<{ value: T; label: string }>; value: T; onChange: (v: T) => void }): Control<T> {
  const dropdown = h('vscode-dropdown', { id: o.id, 'aria-labelledby': `${o.id}-label` },
    ...o.options.map((opt) => h('vscode-option', { value: opt.value, selected: opt.value === o.value }, opt.label)));
  const valid = new Set<string>(o.options.map((x) => x.value));
  const read = (): T => {
    const v = (dropdown as unknown as { value: string }).value;
    return (valid.has(v) ? v : o.value) as T;
  };
  dropdown.addEventListener('change', () => o.onChange(read()));
  const el = h('div', { class: 'field' }, h('label', { id: `${o.id}-label`, for: o.id }, o.label), dropdown);
  return {
    el,
    get: read,
    set: (v) => {
      (dropdown as unknown as { value: string }).value = v;
    },
    setDisabled: disabler(dropdown),
  };
}

/** A text field; its label is the toolkit's default slot, so screen readers read it. */
export function textField(o: { id: string; label: string; value: string; placeholder?: string; size?: number; onChange: (v: string) => void }): Control<string> & { setError(msg: string | null): void } {
  const field = h('vscode-text-field', { id: o.id, value: o.value, placeholder: o.placeholder, size: o.size }, o.label);
  const error = h('div', { class: 'field-error', id: `${o.id}-error`, role: 'alert' });
  const read = () => (field as unknown as { value: string }).value ?? '';
  field.addEventListener('input', () => o.onChange(read()));
  field.addEventListener('change', () => o.onChange(read()));
  const el = h('div', { class: 'field' }, field, error);
  return {
    el,
    get: read,
    set: (v) => {
      (field as unknown as { value: string }).value = v;
    },
    setDisabled: disabler(field),
    setError(msg) {
      error.textContent = msg ?? '';
      if (msg) field.setAttribute('aria-describedby', error.id);
      else field.removeAttribute('aria-describedby');
      field.classList.toggle('invalid', !!msg);
    },
  };
}

/** An integer field with bounds; `get` is NaN while the text is not a valid number. */
export function integerField(o: { id: string; label: string; value: number; min: number; max: number; onChange: (v: number) => void }): Control<number> & { valid(): boolean } {
  const parse = (s: string) => (/^\s*\d+\s*$/.test(s) ? Number(s) : NaN);
  const ok = (n: number) => Number.isInteger(n) && n >= o.min && n <= o.max;
  const tf = textField({
    id: o.id, label: o.label, value: String(o.value), size: 6,
    onChange: (s) => {
      const n = parse(s);
      tf.setError(ok(n) ? null : `${o.label}: a whole number from ${o.min} to ${o.max}`);
      if (ok(n)) o.onChange(n);
    },
  });
  return {
    el: tf.el,
    get: () => parse(tf.get()),
    set: (v) => tf.set(String(v)),
    setDisabled: tf.setDisabled,
    valid: () => ok(parse(tf.get())),
  };
}

export function progressRing(label: string): HTMLElement {
  return h('vscode-progress-ring', { 'aria-label': label });
}

export function badge(text: string, kind?: string): HTMLElement {
  return h('vscode-badge', { class: kind ? `badge-${kind}` : undefined }, text);
}

export function divider(): HTMLElement {
  return h('vscode-divider', { role: 'separator' });
}
