// Training panel: shows the domain's current model (model.get), starts a
// training job with the user's range and settings (model.train), relays the
// job's progress and result, and cancels it on request (model.cancel).

import type { AgentApi, Disposable } from '../../core/contract';
import type { TrainDone, TrainProgress } from '../../../../host-agent/src/protocol/api';
import type { ToHost, ToWebviewOf } from '../../../../webview/src/shared/messages';
import { AgentPanel, type ControllerDeps, type LoadMode } from './base';

/** Bound on the events kept for one job (progress is one per iteration per restart). */
const EARLY_EVENTS_MAX = 10_000;

export class TrainingPanel extends AgentPanel {
  private jobId: string | undefined;
  /**
   * The latest job of this panel (start, progress, and its end once done),
   * replayed to a webview that was hidden or reloaded so it shows that run again.
   */
  private replay: Array<ToWebviewOf<'trainStarted'> | ToWebviewOf<'trainProgress'> | ToWebviewOf<'trainDone'>> = [];
  /** While model.train is in flight: events of jobs not known yet. */
  private early: Array<{ progress?: TrainProgress; done?: TrainDone }> | undefined;

  constructor(deps: ControllerDeps) {
    super('training', deps);
  }

  protected async attach(api: AgentApi): Promise<Disposable[]> {
    return [
      api.on('train.progress', (progress) => {
        if (progress.jobId === this.jobId) this.relay({ type: 'trainProgress', progress });
        else if (this.early && this.early.length < EARLY_EVENTS_MAX) this.early.push({ progress });
      }),
      api.on('train.done', (done) => this.onDone(done)),
    ];
  }

  protected async load(api: AgentApi, _mode: LoadMode): Promise<void> {
    const model = await api.call('model.get', { domain: this.ref.domain });
    this.deps.post({ type: 'model', model });
    for (const m of this.replay) this.deps.post(m);
  }

  private relay(m: ToWebviewOf<'trainStarted'> | ToWebviewOf<'trainProgress'> | ToWebviewOf<'trainDone'>): void {
    if (this.replay.length < EARLY_EVENTS_MAX) this.replay.push(m);
    this.deps.post(m);
  }

  private onDone(done: TrainDone): void {
    if (done.jobId === this.jobId) {
      this.jobId = undefined;
      this.relay({ type: 'trainDone', done });
    } else if (this.early) {
      this.early.push({ done });
      return;
    }
    // A job started elsewhere (the Train Model command) also renews the model shown.
    if (done.ok && done.model && done.model.domain === this.ref.domain) this.deps.post({ type: 'model', model: done.model });
  }

  protected override async onMessage(msg: ToHost): Promise<void> {
    const api = this.api;
    if (!api) return this.fail('not connected to the agent yet');
    if (msg.type === 'train') {
      if (this.jobId) return this.fail(`a training job (${this.jobId}) is already running for this panel`);
      const { from, to, restarts, maxIterations } = msg.request;
      this.early = [];
      try {
        const { jobId } = await api.call('model.train', {
          domains: [this.ref.domain],
          ...(from !== null ? { from } : {}),
          ...(to !== null ? { to } : {}),
          restarts,
          maxIterations,
        });
        this.jobId = jobId;
        this.replay = [];
        this.relay({ type: 'trainStarted', jobId, request: msg.request, at: this.deps.now() });
        const early = this.early;
        this.early = undefined;
        for (const e of early) {
          if (e.progress?.jobId === jobId) this.relay({ type: 'trainProgress', progress: e.progress });
          if (e.done) this.onDone(e.done);
        }
      } catch (e) {
        this.early = undefined;
        this.fail(`training could not start: ${(e as Error).message}`);
      }
    } else if (msg.type === 'cancel') {
      try {
        const { ok } = await api.call('model.cancel', { jobId: msg.jobId });
        if (!ok) this.fail(`job ${msg.jobId} was not running any more`);
      } catch (e) {
        this.fail(`cancel failed: ${(e as Error).message}`);
      }
    } else {
      return super.onMessage(msg);
    }
  }
}
