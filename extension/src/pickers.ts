// Choosing what a command acts on: the tree row it was invoked on, a
// DomainRef passed by another command (status bar, panels), or a quick pick.

import * as vscode from 'vscode';
import type { DomainRef } from './core/contract';
import { domainDescription, hostDescription } from './core/format';
import type { HostsModel } from './core/hostsModel';

/** A tree node or a DomainRef-like argument naming a domain. */
export function asDomainRef(arg: unknown): DomainRef | undefined {
  if (typeof arg !== 'object' || arg === null) return undefined;
  const a = arg as { hostId?: unknown; domain?: unknown };
  return typeof a.hostId === 'string' && typeof a.domain === 'string' ? { hostId: a.hostId, domain: a.domain } : undefined;
}

export function asHostId(arg: unknown): string | undefined {
  if (typeof arg !== 'object' || arg === null) return undefined;
  const a = arg as { hostId?: unknown };
  return typeof a.hostId === 'string' ? a.hostId : undefined;
}

/** A quick pick over the configured hosts; `filter` narrows them, one candidate is taken at once when `single` allows. */
export async function pickHost(model: HostsModel, title: string, filter: (state: string) => boolean = () => true, single = true): Promise<string | undefined> {
  const hosts = model.hosts().filter((h) => filter(h.state));
  if (hosts.length === 0) {
    void vscode.window.showInformationMessage(model.hosts().length ? 'Hefery: no host to choose for this.' : 'Hefery: no host is configured. Add one with "Hefery: Add Host".');
    return undefined;
  }
  if (hosts.length === 1 && single) return hosts[0].id;
  const now = Date.now();
  const pick = await vscode.window.showQuickPick(
    hosts.map((h) => ({ label: h.id, description: hostDescription(h, model.domains(h.id).length, now), detail: `${h.spec.target.username}@${h.spec.target.host}:${h.spec.target.port}` })),
    { title, placeHolder: 'Host', matchOnDescription: true },
  );
  return pick?.label;
}

/**
 * A quick pick over the domains of the connected hosts. With no host
 * connected it offers to connect one first (connect() may prompt).
 */
export async function pickDomain(model: HostsModel, purpose: string, log: vscode.LogOutputChannel): Promise<DomainRef | undefined> {
  const connected = () => model.hosts().filter((h) => h.state === 'connected');
  if (connected().length === 0) {
    const id = await pickHost(model, `Connect a host to choose a domain to ${purpose}`, (s) => s !== 'connected');
    if (!id) return undefined;
    try {
      await model.connect(id);
    } catch (e) {
      await showError(`cannot connect to ${id}: ${(e as Error).message}`, log);
      return undefined;
    }
  }
  type Item = vscode.QuickPickItem & { ref?: DomainRef };
  const items: Item[] = [];
  for (const h of connected()) {
    const ds = model.domains(h.id).sort((a, b) => a.name.localeCompare(b.name));
    if (connected().length > 1) items.push({ label: h.id, kind: vscode.QuickPickItemKind.Separator });
    for (const d of ds) items.push({ label: d.name, description: h.id, detail: domainDescription(d), ref: { hostId: h.id, domain: d.name } });
  }
  if (!items.some((i) => i.ref)) {
    void vscode.window.showInformationMessage('Hefery: the connected hosts report no domains.');
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(items, { title: `Choose a domain to ${purpose}`, placeHolder: 'Domain', matchOnDescription: true });
  return pick?.ref;
}

/** The argument as a domain, or the user's pick. */
export async function domainArg(model: HostsModel, arg: unknown, purpose: string, log: vscode.LogOutputChannel): Promise<DomainRef | undefined> {
  return asDomainRef(arg) ?? pickDomain(model, purpose, log);
}

/** An error the user can act on, in a notification, and in the log. */
export async function showError(message: string, log: vscode.LogOutputChannel): Promise<void> {
  log.error(message);
  const choice = await vscode.window.showErrorMessage(`Hefery: ${message}`, 'Show Log');
  if (choice === 'Show Log') log.show(true);
}
