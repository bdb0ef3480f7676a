// Hefery's VS Code extension: wires the vscode-free core (SSH, host keys,
// agent client, hosts model) to the Hosts view, the status bar, the commands
// and the panels. Everything that decides something lives in core/.

import * as vscode from 'vscode';
import { basename, dirname } from 'node:path';
import { HostKeyVerifier } from './core/hostKeys';
import { HostsModel } from './core/hostsModel';
import { SshConnector } from './core/sshConnector';
import { registerDomainCommands } from './commands/domain';
import { registerHostCommands } from './commands/hosts';
import { registerTrainCommand } from './commands/train';
import type { CommandContext } from './commands/context';
import { askHostKey } from './hostKeyPrompt';
import { registerPanels, type PanelHost } from './panels';
import { PassphraseStore } from './passphrases';
import { pickDomain, showError } from './pickers';
import { autoConnect, backoff, loadHosts, sshConfigPath, timeouts, SECTION } from './settings';
import { RiskStatusBar } from './statusBar';
import { HostsTree } from './tree';

let model: HostsModel | undefined;
let connector: SshConnector | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Hefery', { log: true });
  const version = String((context.extension.packageJSON as { version?: unknown }).version ?? '0');
  const passphrases = new PassphraseStore(context.secrets, log);

  connector = new SshConnector({
    // The user's known_hosts file is written to; prompts only for connects the user started.
    verifier: (host, interactive) => new HostKeyVerifier({
      files: host.knownHostsFiles,
      writeTo: host.knownHostsFiles[0],
      ask: interactive ? (q) => askHostKey(q, host.knownHostsFiles[0]) : undefined,
    }),
    passphrases: (interactive) => passphrases.source(interactive),
    ...timeouts(),
    log,
  });
  const m = (model = new HostsModel({ connector, clientName: `vscode-hefery/${version}`, log, backoff: backoff() }));

  const reloadHosts = () => {
    const { hosts, problems } = loadHosts();
    for (const p of problems) log.warn(`configuration: ${p}`);
    if (problems.length) void vscode.window.showWarningMessage(`Hefery: ${problems[0]}${problems.length > 1 ? ` (and ${problems.length - 1} more; see the log)` : ''}`);
    m.setHosts(hosts);
    void vscode.commands.executeCommand('setContext', 'hefery.hasHosts', hosts.length > 0);
  };
  reloadHosts();

  const tree = new HostsTree(m);
  const view = vscode.window.createTreeView('hefery.hosts', { treeDataProvider: tree });
  tree.setVisible(view.visible);
  const status = new RiskStatusBar(m);
  // A host that just connected shows its domains (its row was not expandable while disconnected).
  const lastState = new Map<string, string>();
  const expandOnConnect = m.onDidChange((c) => {
    if (c.hostId === undefined || c.domain !== undefined) return;
    const state = m.host(c.hostId)?.state;
    const before = lastState.get(c.hostId);
    if (state) lastState.set(c.hostId, state);
    if (state === 'connected' && before === 'connecting' && view.visible) {
      const node = tree.hostNode(c.hostId);
      // After the tree has redrawn the row as expandable (it gathers changes for 250 ms).
      setTimeout(() => view.reveal(node, { expand: true, select: false, focus: false }).then(undefined, (e: Error) => log.debug(`reveal: ${e.message}`)), 400);
    }
  });

  const panelHost: PanelHost = {
    api: (hostId) => m.connect(hostId),
    pickDomain: (purpose) => pickDomain(m, purpose, log),
    log,
  };
  const panels = registerPanels(context, panelHost);

  const ctx: CommandContext = { extension: context, model: m, log, reloadHosts, openPanel: (kind, ref) => panels.open(kind, ref) };
  const cfgPath = sshConfigPath();
  const sshConfigWatcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(dirname(cfgPath)), basename(cfgPath)));

  context.subscriptions.push(
    log, tree, view, status, sshConfigWatcher, expandOnConnect,
    view.onDidChangeVisibility((e) => tree.setVisible(e.visible)),
    ...registerHostCommands(ctx),
    ...registerDomainCommands(ctx),
    registerTrainCommand(ctx),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(SECTION)) reloadHosts();
    }),
    sshConfigWatcher.onDidChange(reloadHosts),
    sshConfigWatcher.onDidCreate(reloadHosts),
    { dispose: () => deactivate() },
  );

  for (const id of autoConnect()) {
    if (!m.host(id)) {
      log.warn(`hefery.autoConnect names "${id}", which is not a configured host`);
      continue;
    }
    m.connect(id, { interactive: false }).catch((e: Error) => showError(`cannot connect to ${id}: ${e.message}`, log));
  }
  log.info(`Hefery ${version} active; ${m.hosts().length} host(s) configured`);
}

export function deactivate(): void {
  model?.dispose();
  connector?.dispose();
  model = undefined;
  connector = undefined;
}
