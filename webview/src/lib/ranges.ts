// The training panel's history range: a preset or a custom pair of local
// times, turned into the from/to of model.train.

import type { RangeChoice } from '../shared/messages';

export interface Range {
  from: number | null;
  to: number | null;
}

export class RangeInputError extends Error {}

/** Parses "YYYY-MM-DD HH:MM" (or with a T, seconds optional) as local time. */
export function parseLocalTime(text: string, field: string): number {
  const m = /^\s*(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?\s*$/.exec(text);
  if (!m) throw new RangeInputError(`${field}: expected a time like 2024-05-01 13:30, got "${text}"`);
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? '0'].map(Number);
  const date = new Date(y, mo - 1, d, h, mi, s);
  if (date.getFullYear() !== y || date.getMonth() !== mo - 1 || date.getDate() !== d || h > 23 || mi > 59 || s > 59) {
    throw new RangeInputError(`${field}: "${text}" is not a valid date and time`);
  }
  return date.getTime();
}

export function resolveRange(choice: RangeChoice, now: number, custom?: { from: string; to: string }): Range {
  switch (choice) {
    case 'hour':
      return { from: now - 3_600_000, to: now };
    case 'day':
      return { from: now - 86_400_000, to: now };
    case 'all':
      return { from: null, to: null };
    case 'custom': {
      if (!custom) throw new RangeInputError('custom range: give a start and an end');
      const from = parseLocalTime(custom.from, 'from');
      const to = custom.to.trim() === '' ? now : parseLocalTime(custom.to, 'to');
      if (to <= from) throw new RangeInputError('custom range: the end must be after the start');
      return { from, to };
    }
  }
}
