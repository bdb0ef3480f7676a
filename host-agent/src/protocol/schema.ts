// A tiny runtime schema library: every message that crosses the wire is
// checked against one of these before any code looks at it. The static type
// of a schema is derived with `Infer<typeof S>`, so the checked value and the
// TypeScript type can never drift apart. No dependencies: the webview bundle
// imports this too.

export class SchemaError extends Error {
  constructor(
    readonly path: string,
    readonly expected: string,
    readonly got: unknown,
  ) {
    super(`${path || 'value'}: expected ${expected}, got ${describe(got)}`);
    this.name = 'SchemaError';
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isFinite(v) ? `number ${v}` : String(v);
  if (typeof v === 'string') return v.length > 40 ? `string "${v.slice(0, 40)}…"` : `string "${v}"`;
  return typeof v;
}

export interface Schema<T> {
  readonly name: string;
  /** Returns the value typed as T or throws SchemaError naming the path. */
  parse(value: unknown, path?: string): T;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

function make<T>(name: string, parse: (v: unknown, path: string) => T): Schema<T> {
  return { name, parse: (v, path = '') => parse(v, path) };
}

export const str = (opts: { min?: number; max?: number; pattern?: RegExp } = {}): Schema<string> =>
  make('string', (v, p) => {
    if (typeof v !== 'string') throw new SchemaError(p, 'string', v);
    if (opts.min !== undefined && v.length < opts.min) throw new SchemaError(p, `string of at least ${opts.min} chars`, v);
    if (opts.max !== undefined && v.length > opts.max) throw new SchemaError(p, `string of at most ${opts.max} chars`, v);
    if (opts.pattern && !opts.pattern.test(v)) throw new SchemaError(p, `string matching ${opts.pattern}`, v);
    return v;
  });

export const num = (opts: { min?: number; max?: number; int?: boolean } = {}): Schema<number> =>
  make('number', (v, p) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new SchemaError(p, 'finite number', v);
    if (opts.int && !Number.isInteger(v)) throw new SchemaError(p, 'integer', v);
    if (opts.min !== undefined && v < opts.min) throw new SchemaError(p, `number >= ${opts.min}`, v);
    if (opts.max !== undefined && v > opts.max) throw new SchemaError(p, `number <= ${opts.max}`, v);
    return v;
  });

export const bool = (): Schema<boolean> =>
  make('boolean', (v, p) => {
    if (typeof v !== 'boolean') throw new SchemaError(p, 'boolean', v);
    return v;
  });

export const literal = <const L extends string | number | boolean | null>(lit: L): Schema<L> =>
  make(JSON.stringify(lit), (v, p) => {
    if (v !== lit) throw new SchemaError(p, JSON.stringify(lit), v);
    return lit;
  });

export const oneOf = <const L extends readonly string[]>(values: L): Schema<L[number]> =>
  make(values.join('|'), (v, p) => {
    if (typeof v !== 'string' || !values.includes(v)) throw new SchemaError(p, `one of ${values.join(', ')}`, v);
    return v as L[number];
  });

export const nullable = <T>(s: Schema<T>): Schema<T | null> =>
  make(`${s.name}|null`, (v, p) => (v === null ? null : s.parse(v, p)));

export const arr = <T>(item: Schema<T>, opts: { max?: number; min?: number } = {}): Schema<T[]> =>
  make(`${item.name}[]`, (v, p) => {
    if (!Array.isArray(v)) throw new SchemaError(p, 'array', v);
    if (opts.max !== undefined && v.length > opts.max) throw new SchemaError(p, `array of at most ${opts.max} items`, v);
    if (opts.min !== undefined && v.length < opts.min) throw new SchemaError(p, `array of at least ${opts.min} items`, v);
    return v.map((x, i) => item.parse(x, `${p}[${i}]`));
  });

type Shape = Record<string, Schema<unknown>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends OptionalSchema<unknown> ? K : never }[keyof S];
type RequiredKeys<S extends Shape> = Exclude<keyof S, OptionalKeys<S>>;
export type ObjOf<S extends Shape> = { [K in RequiredKeys<S>]: Infer<S[K]> } & { [K in OptionalKeys<S>]?: Infer<S[K]> };

export interface OptionalSchema<T> extends Schema<T | undefined> {
  readonly optional: true;
}

export const opt = <T>(s: Schema<T>): OptionalSchema<T> => ({
  name: `${s.name}?`,
  optional: true,
  parse: (v, p = '') => (v === undefined ? undefined : s.parse(v, p)),
});

// Set only while parseTolerant() runs (parsing is synchronous, so this cannot
// leak into another parse).
let tolerateExtraFields = false;

/**
 * Parses what an agent SENDS (results, notifications): fields this build does
 * not know are dropped instead of refused, so an agent that gained an
 * optional field (an additive change within one protocol version) does not
 * lock out extensions built before it. Everything this build knows is still
 * checked. Requests the agent receives stay strict: a field it does not know
 * may be one a caller relies on.
 */
export function parseTolerant<T>(schema: Schema<T>, value: unknown, path = ''): T {
  const before = tolerateExtraFields;
  tolerateExtraFields = true;
  try {
    return schema.parse(value, path);
  } finally {
    tolerateExtraFields = before;
  }
}

/** An object with exactly these keys; unknown keys are rejected so typos surface (dropped under parseTolerant). */
export const obj = <S extends Shape>(shape: S, opts: { allowExtra?: boolean } = {}): Schema<ObjOf<S>> =>
  make('object', (v, p) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new SchemaError(p, 'object', v);
    const rec = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [k, s] of Object.entries(shape)) {
      const val = s.parse(rec[k], p ? `${p}.${k}` : k);
      if (val !== undefined) out[k] = val;
    }
    if (!opts.allowExtra && !tolerateExtraFields) {
      for (const k of Object.keys(rec)) {
        if (!(k in shape)) throw new SchemaError(p ? `${p}.${k}` : k, 'no such field', rec[k]);
      }
    }
    return out as ObjOf<S>;
  });

export const record = <T>(value: Schema<T>, opts: { maxKeys?: number } = {}): Schema<Record<string, T>> =>
  make(`record<${value.name}>`, (v, p) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new SchemaError(p, 'object', v);
    const entries = Object.entries(v as Record<string, unknown>);
    if (opts.maxKeys !== undefined && entries.length > opts.maxKeys) throw new SchemaError(p, `at most ${opts.maxKeys} keys`, v);
    const out: Record<string, T> = {};
    for (const [k, x] of entries) out[k] = value.parse(x, `${p}.${k}`);
    return out;
  });

/** Discriminated union on a string field. */
export const union = <T>(schemas: Schema<T>[], name: string): Schema<T> =>
  make(name, (v, p) => {
    const errors: string[] = [];
    for (const s of schemas) {
      try {
        return s.parse(v, p);
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    throw new SchemaError(p, `${name} (${errors[0] ?? ''})`, v);
  });

export const unknownValue = (): Schema<unknown> => make('unknown', (v) => v);
