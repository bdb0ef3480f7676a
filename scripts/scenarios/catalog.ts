// The failure scenarios: what each fault is, how the runner starts it inside
// the test guest (a fault CGI of scripts/build-guest.sh, or an HTTP flood
// from the test network namespace), and which observation counts as its failure.
// docs/scenarios.md explains each one. Pure data and pure helpers.

/**
 * What the runner watches for to call a failure (the first of a scenario's
 * signals to fire wins):
 * - outage:  the guest's httpd did not answer /cgi-bin/ok for `--outage` seconds
 *            (failure time: the first unanswered probe);
 * - oom:     the guest kernel's OOM killer killed a process (console line);
 * - crashed: the agent recorded libvirt's crashed event for the domain;
 * - paused:  the agent recorded an I/O error or an I/O-error pause (host storage full).
 */
export type FailureSignal = 'outage' | 'oom' | 'crashed' | 'paused';

/** How a fault is started. */
export type Trigger =
  /** GET of a fault CGI in the guest; params are its query (digits only, as cgi-param reads them). */
  | { kind: 'cgi'; path: string; params: Readonly<Record<string, number>> }
  /** HTTP flood of `path` from the test namespace: `conc` requests in flight, times `factor` every `stepS` (at most `maxConc`). */
  | { kind: 'flood'; path: string; conc: number; factor: number; stepS: number; maxConc: number };

export interface Variant {
  /** Short name recorded in the trace's meta (e.g. "1MiB/s"). */
  name: string;
  trigger: Trigger;
  /** Failure signals of this variant (the first to fire is the failure). */
  failure: readonly FailureSignal[];
}

export interface Scenario {
  name: string;
  /** The fault window's label in the trace. */
  label: string;
  summary: string;
  /** Repeat k of a scenario runs variants[k % variants.length]: different timings and intensities. */
  variants: readonly Variant[];
  /** The run gives up waiting for the failure after this long (the window then has no failure). */
  maxWaitS: number;
  /** The guest's disk overlay lives on a host tmpfs of this size, so that the host storage fills. */
  hostDiskMiB?: number;
}

const cgi = (path: string, params: Record<string, number> = {}): Trigger => ({ kind: 'cgi', path, params });

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'mem-leak',
    label: 'mem-leak',
    summary: 'a process leaks memory at a steady rate until the guest kernel\'s OOM killer kills it',
    variants: [
      { name: '512KiB/s', trigger: cgi('/cgi-bin/leak', { kb: 512, ms: 1000 }), failure: ['oom', 'outage'] },
      { name: '1MiB/s', trigger: cgi('/cgi-bin/leak', { kb: 1024, ms: 1000 }), failure: ['oom', 'outage'] },
    ],
    maxWaitS: 300,
  },
  {
    name: 'cpu-runaway',
    label: 'cpu-runaway',
    summary: 'busy loops multiply, each at a higher priority, until httpd is starved and stops answering',
    variants: [
      { name: 'every 8 s', trigger: cgi('/cgi-bin/runaway', { every: 8, max: 24 }), failure: ['outage'] },
      { name: 'every 4 s', trigger: cgi('/cgi-bin/runaway', { every: 4, max: 24 }), failure: ['outage'] },
    ],
    maxWaitS: 240,
  },
  {
    name: 'disk-fill',
    label: 'disk-fill',
    summary: 'a steady write stream fills the host storage under the guest\'s disk; QEMU pauses the guest on ENOSPC',
    variants: [
      { name: '512KiB/s', trigger: cgi('/cgi-bin/diskfill', { kb: 512, ms: 1000 }), failure: ['paused', 'outage'] },
      { name: '1MiB/s', trigger: cgi('/cgi-bin/diskfill', { kb: 1024, ms: 1000 }), failure: ['paused', 'outage'] },
    ],
    maxWaitS: 300,
    hostDiskMiB: 40,
  },
  {
    name: 'net-flood',
    label: 'net-flood',
    summary: 'an HTTP flood from the network (new connections, concurrency doubling) until httpd stops answering',
    variants: [
      { name: '2 connections, x2 every 15 s', trigger: { kind: 'flood', path: '/cgi-bin/blob?kb=16', conc: 2, factor: 2, stepS: 15, maxConc: 1024 }, failure: ['outage'] },
      { name: '4 connections, x2 every 8 s', trigger: { kind: 'flood', path: '/cgi-bin/blob?kb=16', conc: 4, factor: 2, stepS: 8, maxConc: 1024 }, failure: ['outage'] },
    ],
    maxWaitS: 240,
  },
  {
    name: 'fork-bomb',
    label: 'fork-bomb',
    summary: 'every process forks two children every few seconds until the guest cannot serve',
    variants: [
      { name: 'doubling every 4 s', trigger: cgi('/cgi-bin/forkbomb', { secs: 4 }), failure: ['outage', 'crashed'] },
      { name: 'doubling every 2 s', trigger: cgi('/cgi-bin/forkbomb', { secs: 2 }), failure: ['outage', 'crashed'] },
    ],
    maxWaitS: 240,
  },
  {
    name: 'hang',
    label: 'hang',
    summary: 'the guest stops answering: all of user space stopped, or a kernel panic without reboot',
    variants: [
      { name: 'user space stopped', trigger: cgi('/cgi-bin/hang', { kernel: 0 }), failure: ['outage'] },
      { name: 'kernel panic, no reboot', trigger: cgi('/cgi-bin/hang', { kernel: 1 }), failure: ['outage'] },
    ],
    maxWaitS: 120,
  },
  {
    name: 'crash',
    label: 'crash',
    summary: 'the domain dies: a kernel panic that pvpanic reports to QEMU (libvirt: crashed, then destroyed)',
    variants: [
      { name: 'sudden panic', trigger: cgi('/cgi-bin/crash'), failure: ['crashed'] },
      { name: 'panic on OOM after a 1MiB/s leak', trigger: cgi('/cgi-bin/leak', { kb: 1024, ms: 1000, panic: 1 }), failure: ['crashed'] },
    ],
    maxWaitS: 240,
  },
];

export function scenarioNamed(name: string): Scenario {
  const s = SCENARIOS.find((x) => x.name === name);
  if (!s) throw new Error(`unknown scenario "${name}" (known: ${SCENARIOS.map((x) => x.name).join(', ')})`);
  return s;
}

/** "all" or a comma-separated list of scenario names, in the order given, without repeats. */
export function parseScenarioList(spec: string): Scenario[] {
  const names = spec.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new Error('--scenarios: empty list');
  if (names.includes('all')) return [...SCENARIOS];
  return [...new Set(names)].map(scenarioNamed);
}

export function variantFor(s: Scenario, repeat: number): Variant {
  return s.variants[repeat % s.variants.length];
}

/** The query string of a CGI trigger: "kb=1024&ms=1000". */
export function triggerQuery(params: Readonly<Record<string, number>>): string {
  return Object.entries(params).map(([k, v]) => `${k}=${Math.round(v)}`).join('&');
}

/** One line for logs and the trace's meta. */
export function describeTrigger(t: Trigger): string {
  if (t.kind === 'cgi') {
    const q = triggerQuery(t.params);
    return q ? `GET ${t.path}?${q}` : `GET ${t.path}`;
  }
  return `HTTP flood of ${t.path}: ${t.conc} connections, x${t.factor} every ${t.stepS} s (at most ${t.maxConc})`;
}
