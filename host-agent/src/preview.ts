// Values from files and the wire in error messages: shown short, and never
// an exception of its own (JSON.stringify throws on a value nested a few
// thousand levels deep, and a huge value would swamp the message).

/** A short, safe rendering of `v` (at most `max` characters of its JSON). */
export function preview(v: unknown, max = 60): string {
  let s: string | undefined;
  try {
    s = JSON.stringify(v);
  } catch {
    return `${Array.isArray(v) ? 'an array' : typeof v} nested too deeply to show`;
  }
  if (s === undefined) return String(v);
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
