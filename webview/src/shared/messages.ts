// The messages between a panel's webview and its host in the extension. Both
// sides validate every message they receive against these schemas (built
// with the protocol's own schema library, which has no dependencies and runs
// in the browser), so a stale webview script, a bug or a hostile page can
// only ever produce a clear error, never a half-understood message.
//
// No DOM and no vscode here: imported by the webview bundles, by the panel
// hosts in extension/src/panels/ and by plain-Node tests.

import {
  Decision, domainName, ModelSummary, ProtectionStatus, Sample, TrainDone, TrainProgress,
} from '../../../host-agent/src/protocol/api';
import {
  arr, bool, Infer, literal, nullable, num, obj, oneOf, opt, Schema, SchemaError, str,
} from '../../../host-agent/src/protocol/schema';

export const PANEL_KINDS = ['training', 'risk', 'frequency'] as const;
export const PanelKind = oneOf(PANEL_KINDS);
export type PanelKind = Infer<typeof PanelKind>;

/** The webview panel viewType of each kind (package.json's onWebviewPanel:* events name these). */
export const VIEW_TYPES: Record<PanelKind, string> = {
  training: 'hefery.training',
  risk: 'hefery.risk',
  frequency: 'hefery.frequency',
};

export const DomainRefSchema = obj({ hostId: str({ min: 1, max: 255 }), domain: domainName() });

const ts = () => num({ min: 0, int: true });

/** A sample with the risk computed after it (null: the agent could not tell). */
export const SamplePoint = obj({ sample: Sample, risk: nullable(num({ min: 0, max: 1 })) });
export type SamplePoint = Infer<typeof SamplePoint>;

/** What the user asks the training panel to train on. */
export const RangeChoice = oneOf(['hour', 'day', 'all', 'custom'] as const);
export type RangeChoice = Infer<typeof RangeChoice>;

export const TrainRequest = obj({
  /** Start of the history to train on (ms); null: everything the agent has. */
  from: nullable(ts()),
  /** End of the history (ms); null: up to now. */
  to: nullable(ts()),
  restarts: num({ min: 1, max: 100, int: true }),
  maxIterations: num({ min: 1, max: 10_000, int: true }),
});
export type TrainRequest = Infer<typeof TrainRequest>;

// ---- a union told apart by its `type` ---------------------------------------------------

type UnionOf<R extends Record<string, Schema<{ type: string }>>> = { [K in keyof R]: Infer<R[K]> }[keyof R];

/**
 * One of several message shapes, chosen by the `type` field first so an
 * error names what is wrong with that message (a plain union could only
 * report the first alternative's complaint).
 */
function tagged<R extends Record<string, Schema<{ type: string }>>>(name: string, alternatives: R): Schema<UnionOf<R>> {
  return {
    name,
    parse(v: unknown, path = ''): UnionOf<R> {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new SchemaError(path, name, v);
      const type = (v as { type?: unknown }).type;
      if (typeof type !== 'string' || !Object.prototype.hasOwnProperty.call(alternatives, type)) {
        throw new SchemaError(path ? `${path}.type` : 'type', `one of ${Object.keys(alternatives).join(', ')}`, type);
      }
      return alternatives[type].parse(v, path) as UnionOf<R>;
    },
  };
}

// ---- webview -> host -------------------------------------------------------------------

export const ToHost = tagged('webview message', {
  ready: obj({ type: literal('ready') }),
  retry: obj({ type: literal('retry') }),
  train: obj({ type: literal('train'), request: TrainRequest }),
  cancel: obj({ type: literal('cancel'), jobId: str({ min: 1, max: 64 }) }),
});
export type ToHost = Infer<typeof ToHost>;

// ---- host -> webview -------------------------------------------------------------------

export const LinkState = oneOf(['connecting', 'connected', 'reconnecting', 'disconnected', 'error'] as const);
export type LinkState = Infer<typeof LinkState>;

export const ToWebview = tagged('panel message', {
  init: obj({ type: literal('init'), kind: PanelKind, ref: DomainRefSchema, now: ts() }),
  link: obj({ type: literal('link'), state: LinkState, message: opt(str({ max: 2000 })) }),
  error: obj({ type: literal('error'), message: str({ max: 2000 }) }),
  model: obj({ type: literal('model'), model: nullable(ModelSummary) }),
  trainStarted: obj({ type: literal('trainStarted'), jobId: str({ max: 64 }), request: TrainRequest, at: ts() }),
  trainProgress: obj({ type: literal('trainProgress'), progress: TrainProgress }),
  trainDone: obj({ type: literal('trainDone'), done: TrainDone }),
  samples: obj({
    type: literal('samples'),
    /** Added to what the panel has (it keeps one point per timestamp); `init` empties it. */
    points: arr(SamplePoint, { max: 100_000 }),
  }),
  protection: obj({
    type: literal('protection'),
    status: nullable(ProtectionStatus),
    /** Risk levels at which the policy changes interval, when the agent tells them. */
    thresholds: arr(num({ min: 0, max: 1 }), { max: 16 }),
  }),
  decisions: obj({ type: literal('decisions'), decisions: arr(Decision, { max: 100_000 }) }),
});
export type ToWebview = Infer<typeof ToWebview>;
/** The message of one `type`. */
export type ToWebviewOf<T extends ToWebview['type']> = Extract<ToWebview, { type: T }>;

// ---- persisted webview state (getState/setState, restored by the serializers) ------------

export const PanelState = obj({
  kind: PanelKind,
  ref: DomainRefSchema,
  /** Panel-specific view choices (training range, chart window...); validated by the panel. */
  view: opt(obj({
    range: opt(RangeChoice),
    restarts: opt(num({ min: 1, max: 100, int: true })),
    maxIterations: opt(num({ min: 1, max: 10_000, int: true })),
  })),
});
export type PanelState = Infer<typeof PanelState>;
