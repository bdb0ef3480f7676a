// "Train Model": one click. Pick the domain, the agent trains on its history
// (model.train), progress shows in a notification ("iteration i,
// log-likelihood x") whose Cancel sends model.cancel, and the result is
// reported with a way to the training panel.

import * as vscode from 'vscode';
import type { TrainDone, TrainProgress } from '../../../host-agent/src/protocol/api';
import type { AgentApi, DomainRef } from '../core/contract';
import { domainArg, showError } from '../pickers';
import type { CommandContext } from './context';

export function registerTrainCommand(c: CommandContext): vscode.Disposable {
  return vscode.commands.registerCommand('hefery.trainModel', (arg?: unknown) => train(c, arg));
}

/** Progress line as the notification shows it. */
export function progressText(p: TrainProgress): string {
  const restart = p.restarts > 1 ? `restart ${p.restart + 1}/${p.restarts}, ` : '';
  return `${restart}iteration ${p.iteration}, log-likelihood ${p.logLikelihood.toFixed(2)}`;
}

async function train(c: CommandContext, arg: unknown): Promise<void> {
  const ref = await domainArg(c.model, arg, 'train a model for', c.log);
  if (!ref) return;
  let api: AgentApi;
  try {
    api = await c.model.connect(ref.hostId);
  } catch (e) {
    return showError(`cannot connect to ${ref.hostId}: ${(e as Error).message}`, c.log);
  }
  let result: TrainDone;
  try {
    result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Hefery: training a model for ${ref.domain}`, cancellable: true },
      (progress, token) => runJob(api, ref, c, (p) => progress.report({ message: progressText(p) }), token),
    );
  } catch (e) {
    return showError(`training ${ref.domain} on ${ref.hostId} failed: ${(e as Error).message}`, c.log);
  }
  if (result.cancelled) {
    void vscode.window.showInformationMessage(`Hefery: training of ${ref.domain} cancelled.`);
    return;
  }
  if (!result.ok || !result.model) {
    return showError(`training ${ref.domain} on ${ref.hostId} failed: ${result.error ?? 'no model came back'}`, c.log);
  }
  const m = result.model;
  const summary = `model ${m.version} for ${ref.domain}: ${m.states.length} states, ${m.iterations} iterations, log-likelihood ${m.logLikelihood.toFixed(2)} over ${m.observations} samples`;
  c.log.info(`${ref.hostId}: trained ${summary}`);
  const open = await vscode.window.showInformationMessage(`Hefery: trained ${summary}.`, 'Open Training Panel');
  if (open) await c.openPanel('training', ref).catch((e: Error) => showError(e.message, c.log));
}

/** Starts the job and resolves with its train.done; notifications arriving before the job id is known are kept. */
function runJob(api: AgentApi, ref: DomainRef, c: CommandContext, report: (p: TrainProgress) => void, token: vscode.CancellationToken): Promise<TrainDone> {
  return new Promise<TrainDone>((resolve, reject) => {
    let jobId: string | undefined;
    const early: Array<TrainProgress | TrainDone> = [];
    const subs: Array<{ dispose(): void }> = [];
    let finished = false;
    const finish = (f: () => void) => {
      if (finished) return;
      finished = true;
      subs.forEach((s) => s.dispose());
      f();
    };
    const onProgress = (p: TrainProgress) => {
      if (jobId === undefined) early.push(p);
      else if (p.jobId === jobId) report(p);
    };
    const onDone = (d: TrainDone) => {
      if (jobId === undefined) early.push(d);
      else if (d.jobId === jobId) finish(() => resolve(d));
    };
    subs.push(api.on('train.progress', onProgress), api.on('train.done', onDone));
    subs.push(api.onDidChangeState((s) => {
      if (s !== 'connected') finish(() => reject(new Error(`the connection to ${ref.hostId} was lost; the job may still be running on the host (see the training panel once reconnected)`)));
    }));
    subs.push(token.onCancellationRequested(() => {
      if (jobId === undefined) return;
      c.log.info(`${ref.hostId}: cancelling training job ${jobId}`);
      api.call('model.cancel', { jobId }).catch((e: Error) => c.log.warn(`model.cancel ${jobId}: ${e.message}`));
    }));
    api.call('model.train', { domains: [ref.domain] }).then(
      (r) => {
        jobId = r.jobId;
        c.log.info(`${ref.hostId}: training job ${jobId} for ${ref.domain} started`);
        for (const n of early.splice(0)) ('iteration' in n ? onProgress(n) : onDone(n));
        if (token.isCancellationRequested) void api.call('model.cancel', { jobId }).catch(() => undefined);
      },
      (e: Error) => finish(() => reject(e)),
    );
  });
}
