// The webview's side of the panel protocol: every message from the host is
// validated before a panel sees it; the panel's state (its DomainRef and
// view choices) goes through getState/setState so VS Code can restore the
// panel after a reload.

import {
  PanelState, ToWebview, type PanelKind, type ToHost,
} from './shared/messages';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

export type View = NonNullable<PanelState['view']>;

export interface Bridge {
  send(msg: ToHost): void;
  /** The view choices saved by an earlier incarnation of this panel, if valid. */
  readonly savedView: View;
  /** Persists the ref (after init) and the view choices. */
  save(patch: Partial<View>): void;
}

export function connect(kind: PanelKind, handlers: { message(m: ToWebview): void; invalid(error: string): void }): Bridge {
  const vscode = acquireVsCodeApi();
  let state: PanelState | undefined;
  try {
    const raw = vscode.getState();
    if (raw !== undefined && raw !== null) state = PanelState.parse(raw, 'saved state');
  } catch (e) {
    console.warn(`hefery: ignoring the saved state: ${(e as Error).message}`);
  }
  let view: View = state?.view ?? {};

  window.addEventListener('message', (ev: MessageEvent<unknown>) => {
    let msg: ToWebview;
    try {
      msg = ToWebview.parse(ev.data, 'message');
    } catch (e) {
      handlers.invalid((e as Error).message);
      return;
    }
    if (msg.type === 'init') {
      if (msg.kind !== kind) {
        handlers.invalid(`this is a ${kind} panel, the host initialised it as ${msg.kind}`);
        return;
      }
      state = { kind, ref: msg.ref, view };
      vscode.setState(state);
    }
    handlers.message(msg);
  });

  const bridge: Bridge = {
    send: (msg) => vscode.postMessage(msg),
    get savedView() {
      return view;
    },
    save(patch) {
      view = { ...view, ...patch };
      if (state) {
        state = { ...state, view };
        vscode.setState(state);
      }
    },
  };
  bridge.send({ type: 'ready' });
  return bridge;
}
