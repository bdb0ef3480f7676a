// The "Hosts" view: hosts -> domains. Rows are rebuilt from the hosts model
// when it reports a change, and only the rows that changed are refreshed
// (changes are gathered for a moment so a burst of samples is one update).
// While the view is hidden nothing is refreshed; showing it refreshes all.
// No polling: the figures come from the agent's stream.

import * as vscode from 'vscode';
import { agentProblemDetails, agentProblems, domainContext, domainDescription, formatInterval, formatPercent, formatRisk, hostDescription, modeText, riskLevel, type RiskLevel } from './core/format';
import type { DomainView, HostsModel, HostView, ModelChange } from './core/hostsModel';
import { riskThresholds } from './settings';

export type HostNode = { kind: 'host'; hostId: string };
export type DomainNode = { kind: 'domain'; hostId: string; domain: string };
export type Node = HostNode | DomainNode;

const FLUSH_MS = 250;

export class HostsTree implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Node | Node[] | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly hostNodes = new Map<string, HostNode>();
  private readonly domainNodes = new Map<string, DomainNode>();
  private pending: { all: boolean; nodes: Set<Node> } = { all: false, nodes: new Set() };
  private flushTimer: NodeJS.Timeout | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private visible = true;
  private readonly subs: vscode.Disposable[] = [];

  constructor(private readonly model: HostsModel) {
    const d = model.onDidChange((c) => this.onModelChange(c));
    this.subs.push({ dispose: () => d.dispose() });
  }

  /** Tells the tree whether its view is visible (TreeView.onDidChangeVisibility). */
  setVisible(visible: boolean): void {
    const was = this.visible;
    this.visible = visible;
    if (visible && !was) this.queue(undefined);
    this.updateTicker();
  }

  hostNode(hostId: string): HostNode {
    let n = this.hostNodes.get(hostId);
    if (!n) this.hostNodes.set(hostId, (n = { kind: 'host', hostId }));
    return n;
  }

  domainNode(hostId: string, domain: string): DomainNode {
    const key = `${hostId}\u0000${domain}`;
    let n = this.domainNodes.get(key);
    if (!n) this.domainNodes.set(key, (n = { kind: 'domain', hostId, domain }));
    return n;
  }

  getChildren(node?: Node): Node[] {
    if (!node) return this.model.hosts().map((h) => this.hostNode(h.id));
    if (node.kind === 'host') return this.model.domains(node.hostId).sort((a, b) => a.name.localeCompare(b.name)).map((d) => this.domainNode(node.hostId, d.name));
    return [];
  }

  getParent(node: Node): Node | undefined {
    return node.kind === 'domain' ? this.hostNode(node.hostId) : undefined;
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node.kind === 'host') {
      const h = this.model.host(node.hostId);
      if (!h) return new vscode.TreeItem(node.hostId);
      return hostItem(h, this.model.domains(h.id).length);
    }
    const d = this.model.domain({ hostId: node.hostId, domain: node.domain });
    if (!d) return new vscode.TreeItem(node.domain);
    return domainItem(d);
  }

  private onModelChange(c: ModelChange): void {
    if (c.hostId === undefined) this.queue(undefined);
    else if (c.domain === undefined) this.queue(this.hostNode(c.hostId));
    else this.queue(this.domainNode(c.hostId, c.domain));
    this.updateTicker();
  }

  private queue(node: Node | undefined): void {
    if (node === undefined) this.pending.all = true;
    else this.pending.nodes.add(node);
    if (!this.visible || this.flushTimer) return;
    this.flushTimer = setTimeout(() => this.flush(), FLUSH_MS);
  }

  private flush(): void {
    this.flushTimer = undefined;
    const p = this.pending;
    this.pending = { all: false, nodes: new Set() };
    if (p.all) return this.changed.fire(undefined);
    // A host row refreshes its children too: drop its domains from the list.
    const hosts = new Set([...p.nodes].filter((n) => n.kind === 'host').map((n) => n.hostId));
    const nodes = [...p.nodes].filter((n) => n.kind === 'host' || !hosts.has(n.hostId));
    if (nodes.length) this.changed.fire(nodes);
  }

  /** "reconnecting in N s" counts down while the view is visible. */
  private updateTicker(): void {
    const need = this.visible && this.model.hosts().some((h) => h.state === 'reconnecting');
    if (need && !this.tickTimer) {
      this.tickTimer = setInterval(() => {
        for (const h of this.model.hosts()) if (h.state === 'reconnecting') this.queue(this.hostNode(h.id));
        this.updateTicker();
      }, 1000);
    } else if (!need && this.tickTimer) {
      clearInterval(this.tickTimer);
      this.tickTimer = undefined;
    }
  }

  dispose(): void {
    clearTimeout(this.flushTimer);
    clearInterval(this.tickTimer);
    this.subs.forEach((s) => s.dispose());
    this.changed.dispose();
  }
}

const HOST_ICONS: Record<HostView['state'], vscode.ThemeIcon> = {
  connected: new vscode.ThemeIcon('vm-active', new vscode.ThemeColor('charts.green')),
  connecting: new vscode.ThemeIcon('loading~spin'),
  reconnecting: new vscode.ThemeIcon('sync~spin', new vscode.ThemeColor('charts.yellow')),
  error: new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground')),
  disconnected: new vscode.ThemeIcon('vm-outline'),
};
/** Connected, but the agent reports it cannot do part of its job (agent.status). */
const DEGRADED_ICON = new vscode.ThemeIcon('warning', new vscode.ThemeColor('charts.yellow'));

function hostItem(h: HostView, domainCount: number): vscode.TreeItem {
  // Always expandable and expanded: a row that turns expandable only once connected would start collapsed.
  const item = new vscode.TreeItem(h.id, vscode.TreeItemCollapsibleState.Expanded);
  item.id = `host:${h.id}`;
  item.description = hostDescription(h, domainCount, Date.now());
  const degraded = h.state === 'connected' && agentProblems(h.status).length > 0;
  item.iconPath = degraded ? DEGRADED_ICON : HOST_ICONS[h.state];
  item.contextValue = `host.${h.state}`;
  const t = h.spec.target;
  const md = new vscode.MarkdownString(undefined, true);
  md.appendMarkdown(`**${escape(h.id)}** — ${h.state}\n\n`);
  md.appendMarkdown(`- SSH: ${escape(`${t.username}@${t.host}:${t.port}`)}\n`);
  md.appendMarkdown(`- agent socket: ${escape(h.spec.socketPath)}\n`);
  md.appendMarkdown(`- from: ${escape(h.spec.origin)}\n`);
  if (h.hello) md.appendMarkdown(`- agent ${escape(h.hello.agentVersion)} on ${escape(h.hello.hostname)}, backend ${escape(h.hello.backend)}\n`);
  if (h.error) md.appendMarkdown(`\n$(error) ${escape(h.error)}\n`);
  if (h.state === 'connected') for (const p of agentProblemDetails(h.status)) md.appendMarkdown(`\n$(warning) ${escape(p)}\n`);
  for (const n of h.spec.notes) md.appendMarkdown(`\n$(info) ${escape(n)}\n`);
  item.tooltip = md;
  if (h.state === 'disconnected' || h.state === 'error') item.command = { command: 'hefery.connectHost', title: 'Connect', arguments: [{ kind: 'host', hostId: h.id }] };
  return item;
}

const RISK_COLORS: Record<RiskLevel, vscode.ThemeColor | undefined> = {
  unknown: undefined,
  low: new vscode.ThemeColor('charts.green'),
  elevated: new vscode.ThemeColor('charts.yellow'),
  high: new vscode.ThemeColor('charts.red'),
};

function domainIcon(d: DomainView, level: RiskLevel): vscode.ThemeIcon {
  switch (d.state) {
    case 'running':
      return new vscode.ThemeIcon(level === 'high' ? 'flame' : 'vm-running', RISK_COLORS[level]);
    case 'paused':
    case 'pmsuspended':
      return new vscode.ThemeIcon('debug-pause', RISK_COLORS[level]);
    case 'crashed':
      return new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground'));
    default:
      return new vscode.ThemeIcon('vm-outline');
  }
}

function domainItem(d: DomainView): vscode.TreeItem {
  const level = riskLevel(d.risk?.next, d.protection, riskThresholds());
  const item = new vscode.TreeItem(d.name, vscode.TreeItemCollapsibleState.None);
  item.id = `domain:${d.hostId}:${d.name}`;
  item.description = domainDescription(d);
  item.iconPath = domainIcon(d, level);
  item.contextValue = domainContext(d);
  item.tooltip = domainTooltip(d, level);
  item.accessibilityInformation = { label: `${d.name}: ${item.description}`, role: 'treeitem' };
  return item;
}

function domainTooltip(d: DomainView, level: RiskLevel): vscode.MarkdownString {
  const s = d.latest;
  const rate = (v: number | null | undefined) => (v === null || v === undefined ? '–' : `${formatBytes(v)}/s`);
  const rows: Array<[string, string]> = [
    ['State', d.state],
    ['CPU', formatPercent(s?.cpuPct)],
    ['Memory', formatPercent(s?.memPct)],
    ['Network', `rx ${rate(s?.netRxBps)}, tx ${rate(s?.netTxBps)}`],
    ['Disk', `read ${rate(s?.diskRdBps)}, write ${rate(s?.diskWrBps)}`],
    ['Risk (next step)', d.risk ? `${formatRisk(d.risk.next)} (${level})` : d.hasModel ? '–' : 'no model yet'],
  ];
  if (d.risk?.horizon !== undefined) rows.push([`Risk (${d.risk.horizonSteps ?? '?'} steps)`, formatRisk(d.risk.horizon)]);
  if (d.risk?.state) rows.push(['Hidden state', d.risk.state]);
  if (d.protection) {
    rows.push(['Interval', formatInterval(d.protection.intervalMs)], ['Mode', modeText(d.protection)], ['Backend', d.protection.backend]);
    if (d.protection.reason) rows.push(['Why', d.protection.reason]);
  }
  if (s) rows.push(['Sample', new Date(s.ts).toLocaleTimeString()]);
  const md = new vscode.MarkdownString(`**${escape(d.name)}** on ${escape(d.hostId)}\n\n| | |\n|---|---|\n`);
  for (const [k, v] of rows) md.appendMarkdown(`| ${escape(k)} | ${escape(v)} |\n`);
  return md;
}

function formatBytes(v: number): string {
  const units = ['B', 'kB', 'MB', 'GB'];
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v < 10 && i > 0 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** Text from the agent or the user as plain text inside Markdown. */
function escape(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}
