// Domain commands: pin the checkpoint interval, resume automatic mode, mark
// an incident, open a panel. Each acts on the tree row it was invoked on, a
// DomainRef argument, or a domain the user picks.

import * as vscode from 'vscode';
import type { DomainRef } from '../core/contract';
import { formatClock, formatInterval, parseClockTime, parseInterval, pinPresets } from '../core/format';
import type { ProtectionStatus } from '../../../host-agent/src/protocol/api';
import type { PanelKind } from '../panels';
import { domainArg, showError } from '../pickers';
import { who, type CommandContext } from './context';

export function registerDomainCommands(c: CommandContext): vscode.Disposable[] {
  const panel = (kind: PanelKind, purpose: string) => async (arg?: unknown) => {
    const ref = await domainArg(c.model, arg, purpose, c.log);
    if (ref) await c.openPanel(kind, ref).catch((e: Error) => showError(e.message, c.log));
  };
  return [
    vscode.commands.registerCommand('hefery.pinInterval', (arg?: unknown) => pin(c, arg)),
    vscode.commands.registerCommand('hefery.resumeAuto', (arg?: unknown) => resume(c, arg)),
    vscode.commands.registerCommand('hefery.markIncident', (arg?: unknown) => markIncident(c, arg)),
    vscode.commands.registerCommand('hefery.openTrainingPanel', panel('training', 'open the training panel of')),
    vscode.commands.registerCommand('hefery.openRiskPanel', panel('risk', 'watch the live risk of')),
    vscode.commands.registerCommand('hefery.openFrequencyPanel', panel('frequency', 'see the checkpoint frequency of')),
  ];
}

/**
 * A quick pick of sensible intervals (the domain's policy ladder when the
 * agent sends it, the current one marked) that also takes a typed value like
 * `250ms` or `2s`: whatever parses is offered first.
 */
function pickInterval(ref: DomainRef, protection: ProtectionStatus | null | undefined): Promise<number | undefined> {
  type Item = vscode.QuickPickItem & { ms: number };
  const presets: Item[] = pinPresets(protection).map((p) => ({ label: formatInterval(p.ms), description: p.note, ms: p.ms }));
  const qp = vscode.window.createQuickPick<Item>();
  qp.title = `Pin the checkpoint interval of ${ref.domain}`;
  qp.placeholder = 'Choose, or type a value like 250ms, 2s or 1m';
  qp.items = presets;
  qp.onDidChangeValue((v) => {
    if (!v.trim()) {
      qp.items = presets;
      return;
    }
    const ms = parseInterval(v);
    qp.items = typeof ms === 'number'
      ? [{ label: `$(pin) ${formatInterval(ms)}`, description: 'typed value', alwaysShow: true, ms }, ...presets]
      : [{ label: `$(warning) ${ms}`, alwaysShow: true, ms: -1 }, ...presets];
  });
  return new Promise((resolve) => {
    let done = false;
    qp.onDidAccept(() => {
      // A typed value counts even if Enter came before the items caught up with it.
      const typed = qp.value.trim() ? parseInterval(qp.value) : undefined;
      const item = qp.selectedItems[0] ?? qp.activeItems[0];
      const ms = typed !== undefined ? typed : item?.ms;
      if (typeof ms !== 'number' || ms < 0) return;
      done = true;
      resolve(ms);
      qp.hide();
    });
    qp.onDidHide(() => {
      if (!done) resolve(undefined);
      qp.dispose();
    });
    qp.show();
  });
}

/** undefined: cancelled; null: no expiry; else the expiry timestamp. */
async function pickExpiry(): Promise<number | null | undefined> {
  const now = Date.now();
  const choice = await vscode.window.showQuickPick(
    [
      { label: 'No expiry', description: 'until "Resume Automatic Mode"', at: null as number | null | 'ask' },
      { label: '15 minutes', description: `until ${formatClock(now + 15 * 60_000)}`, at: now + 15 * 60_000 },
      { label: '1 hour', description: `until ${formatClock(now + 3_600_000)}`, at: now + 3_600_000 },
      { label: 'Until a time…', at: 'ask' as const },
    ],
    { title: 'How long should the pin hold?', placeHolder: 'Expiry' },
  );
  if (!choice) return undefined;
  if (choice.at !== 'ask') return choice.at;
  const text = await vscode.window.showInputBox({
    title: 'Pin until (local time)',
    placeHolder: '18:30',
    validateInput: (v) => {
      const t = parseClockTime(v, Date.now());
      return typeof t === 'string' ? t : undefined;
    },
  });
  if (text === undefined) return undefined;
  const t = parseClockTime(text, Date.now());
  return typeof t === 'number' ? t : undefined;
}

async function pin(c: CommandContext, arg: unknown): Promise<void> {
  const ref = await domainArg(c.model, arg, 'pin the checkpoint interval of', c.log);
  if (!ref) return;
  const ms = await pickInterval(ref, c.model.domain(ref)?.protection);
  if (ms === undefined) return;
  const expiresAt = await pickExpiry();
  if (expiresAt === undefined) return;
  try {
    const api = await c.model.connect(ref.hostId);
    const d = await api.call('interval.pin', { domain: ref.domain, intervalMs: ms, expiresAt, who: who() });
    const until = expiresAt ? ` until ${formatClock(expiresAt)}` : '';
    c.log.info(`${ref.hostId}/${ref.domain}: pinned ${formatInterval(ms)}${until} (decision ${d.id}, applied: ${d.applied})`);
    if (d.applied) void vscode.window.showInformationMessage(`Hefery: ${ref.domain} checkpoints every ${formatInterval(d.newIntervalMs)}${until} (pinned).`);
    else void vscode.window.showWarningMessage(`Hefery: the pin of ${ref.domain} is recorded but not applied yet: ${d.error ?? d.reason}`);
  } catch (e) {
    await showError(`cannot pin the interval of ${ref.domain} on ${ref.hostId}: ${(e as Error).message}`, c.log);
  }
}

async function resume(c: CommandContext, arg: unknown): Promise<void> {
  const ref = await domainArg(c.model, arg, 'return to automatic mode', c.log);
  if (!ref) return;
  try {
    const api = await c.model.connect(ref.hostId);
    const d = await api.call('interval.resume', { domain: ref.domain, who: who() });
    c.log.info(`${ref.hostId}/${ref.domain}: resumed automatic mode (decision ${d.id}, applied: ${d.applied})`);
    if (d.applied) void vscode.window.showInformationMessage(`Hefery: ${ref.domain} is back in automatic mode (${formatInterval(d.newIntervalMs)} now).`);
    else void vscode.window.showWarningMessage(`Hefery: automatic mode for ${ref.domain} is recorded but not applied yet: ${d.error ?? d.reason}`);
  } catch (e) {
    await showError(`cannot resume automatic mode of ${ref.domain} on ${ref.hostId}: ${(e as Error).message}`, c.log);
  }
}

async function markIncident(c: CommandContext, arg: unknown): Promise<void> {
  const ref = await domainArg(c.model, arg, 'mark an incident on', c.log);
  if (!ref) return;
  const health = await vscode.window.showQuickPick(
    [
      { label: 'abnormal', description: 'degraded but running (slow, errors, overload)' },
      { label: 'failed', description: 'down, hung or crashed' },
    ] as const,
    { title: `What was wrong with ${ref.domain}?` },
  );
  if (!health) return;
  const now = Date.now();
  const span = await vscode.window.showQuickPick(
    [
      { label: 'The last 5 minutes', from: now - 5 * 60_000 },
      { label: 'The last 15 minutes', from: now - 15 * 60_000 },
      { label: 'The last hour', from: now - 3_600_000 },
    ],
    { title: 'Since when?' },
  );
  if (!span) return;
  const note = await vscode.window.showInputBox({ title: 'Note (optional)', prompt: 'What happened, for whoever trains the next model', validateInput: (v) => (v.length > 500 ? 'at most 500 characters' : undefined) });
  if (note === undefined) return;
  try {
    const api = await c.model.connect(ref.hostId);
    const r = await api.call('incidents.mark', { domain: ref.domain, from: span.from, to: Date.now(), health: health.label, ...(note.trim() ? { note: note.trim() } : {}) });
    void vscode.window.showInformationMessage(`Hefery: incident ${r.id} marked on ${ref.domain} (${health.label}); the next training uses it.`);
  } catch (e) {
    await showError(`cannot mark an incident on ${ref.domain}: ${(e as Error).message}`, c.log);
  }
}
