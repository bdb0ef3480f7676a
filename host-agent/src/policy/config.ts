// The agent config's `policy` section: which domains are protected and how
// risk maps to a checkpoint interval, validated field by field so a mistake
// names its path, e.g. `policy.domains.web-*.raise: expected number >= 0
// and <= 1, got number 2`.
//
//   "policy": {
//     "protect": ["web-*", "db1"],                  names or globs (* and ?); others are unprotected
//     "defaults": {                                 every field optional (DEFAULT_DOMAIN_POLICY)
//       "safeIntervalMs": 100,                      shortest interval: fail-safe and high risk
//       "relaxedIntervalMs": 2000,                  longest interval: low risk, everything healthy
//       "steps": [250, 500, 1000],                  the ladder in between (relaxing climbs one step at a time)
//       "raise": 0.5, "lower": 0.2,                 risk >= raise: safe at once; risk < lower: may relax
//       "dwellMs": 60000,                           minimum time since the last change before relaxing
//       "maxSampleAgeMs": 5000,                     older (or no) sample: fail-safe
//       "hazard": { "checkpointCostMs": 20 }        optional Young/Daly rule instead of the ladder
//     },
//     "domains": { "db1": { "relaxedIntervalMs": 500 } }   per-domain overrides (exact name, else first glob)
//   }
//
// Absent section: DEFAULT_POLICY (protect every domain with the defaults;
// serve.ts pairs it with the dry-run backend).

import { ConfigError, number } from '../config';
import { arr, nullable, obj, opt, record, SchemaError, str, type Infer } from '../protocol/schema';

export interface HazardRule {
  /** Time one checkpoint costs, ms (Young/Daly's C). */
  checkpointCostMs: number;
  /** Time span the predicted risk covers (one sample), ms; null: the agent's sampling interval. */
  riskStepMs: number | null;
  /** Relative change below which the interval is kept (avoids a decision per sample). */
  deadband: number;
}

export interface DomainPolicy {
  safeIntervalMs: number;
  relaxedIntervalMs: number;
  /** Ascending: safeIntervalMs, the steps, relaxedIntervalMs. */
  ladder: number[];
  raise: number;
  lower: number;
  dwellMs: number;
  maxSampleAgeMs: number;
  hazard: HazardRule | null;
}

export interface PolicyConfig {
  /** Names or globs of the protected domains. */
  protect: string[];
  defaults: DomainPolicy;
  /** Per-domain overrides, in file order. */
  overrides: Array<{ pattern: string; policy: DomainPolicy }>;
}

export const DEFAULT_DOMAIN_POLICY = {
  safeIntervalMs: 100,
  relaxedIntervalMs: 2000,
  steps: [250, 500, 1000],
  raise: 0.5,
  lower: 0.2,
  dwellMs: 60_000,
  maxSampleAgeMs: 5000,
  hazardDeadband: 0.1,
} as const;

/** Domain names (DOMAIN_NAME) plus the glob characters * and ?. */
const GLOB = /^[A-Za-z0-9_.+*?-]{1,64}$/;

const ms = (min: number) => number({ min, int: true });
const fraction = () => number({ min: 0, max: 1 });

const HazardSchema = obj({
  checkpointCostMs: number({ min: 0.001 }),
  riskStepMs: opt(nullable(ms(1))),
  deadband: opt(number({ min: 0, max: 0.99 })),
});

const DomainSchema = obj({
  safeIntervalMs: opt(ms(1)),
  relaxedIntervalMs: opt(ms(1)),
  steps: opt(arr(ms(1), { max: 32 })),
  raise: opt(fraction()),
  lower: opt(fraction()),
  dwellMs: opt(ms(0)),
  maxSampleAgeMs: opt(ms(100)),
  hazard: opt(nullable(HazardSchema)),
});
type DomainFields = Infer<typeof DomainSchema>;

const PolicySchema = obj({
  $comment: opt(str()),
  protect: arr(str({ pattern: GLOB }), { max: 10_000 }),
  defaults: opt(DomainSchema),
  domains: opt(record(DomainSchema, { maxKeys: 10_000 })),
});

/** The policy used when the config has no `policy` section. */
export const DEFAULT_POLICY: PolicyConfig = {
  protect: ['*'],
  defaults: resolveDomain({}, null, 'policy.defaults'),
  overrides: [],
};

/** Validates the config's `policy` section (null/undefined: DEFAULT_POLICY). Throws ConfigError naming the field. */
export function parsePolicyConfig(value: unknown): PolicyConfig {
  if (value === null || value === undefined) return DEFAULT_POLICY;
  if (typeof value === 'object' && !Array.isArray(value) && !('protect' in value)) {
    throw new ConfigError('policy.protect: required: the names or globs of the domains to protect, e.g. ["*"] or ["web-*", "db1"]');
  }
  let v: Infer<typeof PolicySchema>;
  try {
    v = PolicySchema.parse(value, 'policy');
  } catch (e) {
    if (e instanceof SchemaError) throw new ConfigError(e.message);
    throw e;
  }
  const defaults = resolveDomain(v.defaults ?? {}, null, 'policy.defaults');
  const overrides = Object.entries(v.domains ?? {}).map(([pattern, fields]) => {
    if (!GLOB.test(pattern)) throw new ConfigError(`policy.domains.${pattern}: not a domain name or glob (expected ${GLOB})`);
    return { pattern, policy: resolveDomain(fields, v.defaults ?? {}, `policy.domains.${pattern}`) };
  });
  return { protect: v.protect, defaults, overrides };
}

/** The policy of `domain`, null when it is not protected. Exact override names win over globs; among globs the first listed. */
export function policyFor(cfg: PolicyConfig, domain: string): DomainPolicy | null {
  if (!cfg.protect.some((p) => globMatch(p, domain))) return null;
  const exact = cfg.overrides.find((o) => o.pattern === domain);
  if (exact) return exact.policy;
  return cfg.overrides.find((o) => globMatch(o.pattern, domain))?.policy ?? cfg.defaults;
}

export function globMatch(pattern: string, name: string): boolean {
  if (!/[*?]/.test(pattern)) return pattern === name;
  const re = new RegExp(`^${pattern.replace(/[.+-]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return re.test(name);
}

/** Fills a domain's fields from `base` (the defaults section) and the built-in defaults, then checks they fit together. */
function resolveDomain(f: DomainFields, base: DomainFields | null, path: string): DomainPolicy {
  const D = DEFAULT_DOMAIN_POLICY;
  const pick = <K extends keyof DomainFields>(k: K): DomainFields[K] => (f[k] !== undefined ? f[k] : base?.[k]);
  const safe = pick('safeIntervalMs') ?? D.safeIntervalMs;
  const relaxed = pick('relaxedIntervalMs') ?? D.relaxedIntervalMs;
  const raise = pick('raise') ?? D.raise;
  const lower = pick('lower') ?? D.lower;
  const stepsGiven = pick('steps');
  const inherited = f.steps === undefined;
  if (relaxed < safe) throw new ConfigError(`${path}.relaxedIntervalMs: expected >= safeIntervalMs (${safe}), got number ${relaxed}`);
  if (raise <= lower) throw new ConfigError(`${path}.raise: expected > lower (${lower}) (hysteresis: above raise tighten, below lower relax), got number ${raise}`);
  let steps: readonly number[];
  if (stepsGiven !== undefined) steps = stepsGiven;
  else steps = D.steps.filter((s) => s > safe && s < relaxed); // the built-in ladder adapts to the bounds
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i];
    const where = inherited ? `${path}.steps (inherited from policy.defaults)` : `${path}.steps[${i}]`;
    if (s <= safe || s >= relaxed) throw new ConfigError(`${where}: ${s} is not between safeIntervalMs (${safe}) and relaxedIntervalMs (${relaxed})`);
    if (i > 0 && s <= steps[i - 1]) throw new ConfigError(`${where}: steps must be ascending, ${s} follows ${steps[i - 1]}`);
  }
  const h = pick('hazard');
  return {
    safeIntervalMs: safe,
    relaxedIntervalMs: relaxed,
    ladder: relaxed === safe ? [safe] : [safe, ...steps, relaxed],
    raise,
    lower,
    dwellMs: pick('dwellMs') ?? D.dwellMs,
    maxSampleAgeMs: pick('maxSampleAgeMs') ?? D.maxSampleAgeMs,
    hazard: h ? { checkpointCostMs: h.checkpointCostMs, riskStepMs: h.riskStepMs ?? null, deadband: h.deadband ?? D.hazardDeadband } : null,
  };
}
