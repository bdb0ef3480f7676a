// The status bar item: which host(s) are connected, whether an agent reports
// itself degraded (store not writable, no libvirt stats), and the highest
// current risk among their domains; a click opens the live risk panel of that
// domain. Hidden while no host is connected or on its way.

import * as vscode from 'vscode';
import { agentProblemDetails, agentProblems, formatRisk, riskLevel } from './core/format';
import type { HostsModel } from './core/hostsModel';
import { riskThresholds } from './settings';

const UPDATE_MS = 500;

export class RiskStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('hefery.status', vscode.StatusBarAlignment.Left, 10);
  private timer: NodeJS.Timeout | undefined;
  private readonly sub: { dispose(): void };

  constructor(private readonly model: HostsModel) {
    this.item.name = 'Hefery';
    this.sub = model.onDidChange(() => this.schedule());
    this.update();
  }

  private schedule(): void {
    if (!this.timer) this.timer = setTimeout(() => this.update(), UPDATE_MS);
  }

  update(): void {
    this.timer = undefined;
    const live = this.model.hosts().filter((h) => h.state !== 'disconnected' && h.state !== 'error');
    if (live.length === 0) {
      this.item.hide();
      return;
    }
    const reconnecting = live.filter((h) => h.state === 'reconnecting' || h.state === 'connecting');
    const hosts = live.length === 1 ? live[0].id : `${live.length} hosts`;
    const degraded = live.filter((h) => h.state === 'connected' && agentProblems(h.status).length > 0);
    const top = this.model.highestRisk();
    const icon = reconnecting.length ? '$(sync~spin)' : degraded.length ? '$(warning)' : '$(pulse)';
    let text = `${icon} ${hosts}`;
    if (reconnecting.length) text += ` · ${reconnecting.length === live.length ? reconnecting[0].state : `${reconnecting.length} reconnecting`}`;
    if (degraded.length) text += ` · ${live.length === 1 ? 'agent degraded' : `${degraded.length} agent(s) degraded`}`;
    if (top?.risk) text += ` · risk ${formatRisk(top.risk.next)} ${top.name}`;
    this.item.text = text;

    const level = riskLevel(top?.risk?.next, top?.protection, riskThresholds());
    this.item.backgroundColor = level === 'high' ? new vscode.ThemeColor('statusBarItem.errorBackground')
      : level === 'elevated' || degraded.length ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;

    const md = new vscode.MarkdownString('**Hefery**\n\n');
    for (const h of live) {
      const problems = h.state === 'connected' ? agentProblems(h.status) : [];
      md.appendMarkdown(`- ${h.id}: ${h.state}${h.error ? ` (${h.error})` : ''}${problems.length ? `, agent degraded: ${problems.join(', ')}` : ''}\n`);
    }
    for (const h of degraded) for (const p of agentProblemDetails(h.status)) md.appendMarkdown(`\n${h.id}: ${p}\n`);
    if (top?.risk) md.appendMarkdown(`\nHighest risk: ${top.name} on ${top.hostId}, ${formatRisk(top.risk.next)} (${level}). Click for its live risk panel.`);
    this.item.tooltip = md;
    this.item.accessibilityInformation = { label: `Hefery: ${hosts}${degraded.length ? `, agent degraded on ${degraded.map((h) => h.id).join(', ')}` : ''}${top?.risk ? `, highest risk ${formatRisk(top.risk.next)} on ${top.name}` : ''}` };
    this.item.command = top
      ? { command: 'hefery.openRiskPanel', title: 'Open Live Risk Panel', arguments: [{ hostId: top.hostId, domain: top.name }] }
      : { command: 'workbench.view.extension.hefery', title: 'Show Hefery' };
    this.item.show();
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.sub.dispose();
    this.item.dispose();
  }
}
