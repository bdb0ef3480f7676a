// What every panel controller shares: it gets the AgentApi of its host when
// the webview says it is ready, reports the connection's state to the
// webview, loads the panel's data in full on every `ready` (a webview that
// was hidden or reloaded starts empty) and catches up on what it missed
// after a reconnect. vscode-free: the panel host passes `post` and `log`.

import type { AgentApi, Disposable, DomainRef } from '../../core/contract';
import type { PanelKind, ToHost, ToWebview } from '../../../../webview/src/shared/messages';

export interface PanelLog {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export interface ControllerDeps {
  ref: DomainRef;
  /** The host's agent; connects if needed, rejects with a clear Error. */
  api(): Promise<AgentApi>;
  /** To the webview (dropped while it is hidden). */
  post(msg: ToWebview): void;
  log: PanelLog;
  now(): number;
}

export interface PanelController {
  /** A validated message from the webview. */
  handle(msg: ToHost): Promise<void>;
  dispose(): void;
}

/** `full`: everything the panel shows (after `ready`); `catch-up`: what a reconnect missed. */
export type LoadMode = 'full' | 'catch-up';

export abstract class AgentPanel implements PanelController {
  protected api: AgentApi | undefined;
  private apiSubscriptions: Disposable[] = [];
  /** newestShown() when the link was lost; null once a load caught up. */
  private gapFrom: number | null = null;
  /** Links lost so far: a load that began before the latest loss has not caught up with it. */
  private losses = 0;
  protected disposed = false;

  constructor(protected readonly kind: PanelKind, protected readonly deps: ControllerDeps) {}

  protected get ref(): DomainRef {
    return this.deps.ref;
  }

  async handle(msg: ToHost): Promise<void> {
    if (this.disposed) return;
    switch (msg.type) {
      case 'ready':
      case 'retry':
        return this.start();
      default:
        return this.onMessage(msg);
    }
  }

  /** Panel-specific messages (train, cancel...). */
  protected async onMessage(msg: ToHost): Promise<void> {
    this.fail(`a ${this.kind} panel does not handle "${msg.type}"`);
  }

  /** Loads the panel's data from the agent. */
  protected abstract load(api: AgentApi, mode: LoadMode): Promise<void>;

  /** Timestamp of the newest item the panel has shown (0: none); a catch-up goes on from there. */
  protected newestShown(): number {
    return 0;
  }

  /**
   * Where a catch-up starts: the newest item shown when the link was lost.
   * Not the newest shown now: on a reconnect the subscriptions are back (and
   * live items arrive) before the link is `connected` again and the catch-up
   * runs, so the newest item by then may lie after the outage.
   */
  protected catchUpSince(): number {
    return this.gapFrom ?? this.newestShown();
  }

  private async loadAndCatchUp(api: AgentApi, mode: LoadMode): Promise<void> {
    const losses = this.losses;
    await this.load(api, mode);
    if (losses === this.losses) this.gapFrom = null;
  }

  /** Notification handlers and agent-side subscriptions for a newly obtained AgentApi. */
  protected abstract attach(api: AgentApi): Promise<Disposable[]>;

  private async start(): Promise<void> {
    const { ref } = this.deps;
    this.deps.post({ type: 'init', kind: this.kind, ref, now: this.deps.now() });
    this.deps.post({ type: 'link', state: 'connecting' });
    let api: AgentApi;
    try {
      api = await this.deps.api();
    } catch (e) {
      this.deps.post({ type: 'link', state: 'error', message: `cannot reach the agent on ${ref.hostId}: ${(e as Error).message}` });
      return;
    }
    if (this.disposed) return;
    try {
      if (api !== this.api) await this.adopt(api);
      this.deps.post({ type: 'link', state: api.state });
      await this.loadAndCatchUp(api, 'full');
    } catch (e) {
      this.fail((e as Error).message);
    }
  }

  private async adopt(api: AgentApi): Promise<void> {
    this.release();
    this.api = api;
    this.apiSubscriptions.push(api.onDidChangeState((state) => {
      if (this.disposed) return;
      this.deps.post({ type: 'link', state });
      if (state === 'connected') this.loadAndCatchUp(api, 'catch-up').catch((e: Error) => this.fail(e.message));
      else {
        this.losses++;
        this.gapFrom ??= this.newestShown();
      }
    }));
    this.apiSubscriptions.push(...(await this.attach(api)));
  }

  private release(): void {
    for (const s of this.apiSubscriptions.splice(0)) s.dispose();
  }

  /** Reports an error to the user (in the panel) and to the log. */
  protected fail(message: string): void {
    this.deps.log.error(`${this.kind} panel for ${this.ref.domain} on ${this.ref.hostId}: ${message}`);
    if (!this.disposed) this.deps.post({ type: 'error', message });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.release();
  }
}

/**
 * A samples subscription for the panel's domain, ended when the panel is.
 * Notifications are matched by domain, not by subscription id, because the
 * connection layer re-establishes subscriptions after a reconnect; the
 * webview drops any duplicate point by its timestamp.
 */
export async function subscribeSamples(api: AgentApi, domain: string, log: PanelLog): Promise<Disposable> {
  const { subscription } = await api.call('samples.subscribe', { domains: [domain] });
  return {
    dispose() {
      if (api.state !== 'connected') return;
      api.call('samples.unsubscribe', { subscription }).catch((e: Error) => log.debug(`samples.unsubscribe ${subscription}: ${e.message}`));
    },
  };
}
