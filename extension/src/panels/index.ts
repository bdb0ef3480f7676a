// The panels (training, live risk, checkpoint frequency): webviews whose
// data comes from one domain's agent through the AgentApi the connection
// layer hands out. This module is the seam the rest of the extension calls:
// registerPanels() once at activation, then open(kind, ref) from commands.
//
// One panel per (kind, host, domain): opening it again reveals it. Panels
// survive a window reload through the serializers registered here; the
// webview keeps its DomainRef in its own state (getState/setState).

import * as vscode from 'vscode';
import type { AgentApi, DomainRef } from '../core/contract';
import {
  PANEL_KINDS, PanelState, ToHost, VIEW_TYPES, type PanelKind as Kind,
} from '../../../webview/src/shared/messages';
import { createController, type PanelController } from './controllers';
import { newNonce, panelHtml } from './html';

export interface PanelHost {
  /** Connects the host if needed; rejects with a clear Error. */
  api(hostId: string): Promise<AgentApi>;
  pickDomain(purpose: string): Promise<DomainRef | undefined>;
  log: vscode.LogOutputChannel;
}

export type PanelKind = Kind;

export const PANEL_TITLES: Record<PanelKind, string> = {
  training: 'Training',
  risk: 'Live risk',
  frequency: 'Checkpoint frequency',
};

export function registerPanels(context: vscode.ExtensionContext, host: PanelHost): { open(kind: PanelKind, ref: DomainRef): Promise<void> } {
  const panels = new PanelManager(context.extensionUri, host);
  context.subscriptions.push(panels);
  for (const kind of PANEL_KINDS) {
    context.subscriptions.push(vscode.window.registerWebviewPanelSerializer(VIEW_TYPES[kind], {
      deserializeWebviewPanel: async (panel, state) => panels.restore(kind, panel, state),
    }));
  }
  return { open: async (kind, ref) => panels.open(kind, ref) };
}

/** Folders a panel may load from: the bundled webview scripts and the panel CSS. */
export function localResourceRoots(extensionUri: vscode.Uri): vscode.Uri[] {
  return [vscode.Uri.joinPath(extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(extensionUri, 'media')];
}

function panelKey(kind: PanelKind, ref: DomainRef): string {
  return JSON.stringify([kind, ref.hostId, ref.domain]);
}

class PanelManager implements vscode.Disposable {
  private readonly open_ = new Map<string, vscode.WebviewPanel>();

  constructor(private readonly extensionUri: vscode.Uri, private readonly host: PanelHost) {}

  open(kind: PanelKind, ref: DomainRef): void {
    const existing = this.open_.get(panelKey(kind, ref));
    if (existing) {
      existing.reveal();
      return;
    }
    const panel = vscode.window.createWebviewPanel(VIEW_TYPES[kind], title(kind, ref), vscode.ViewColumn.Active, {
      enableScripts: true,
      localResourceRoots: localResourceRoots(this.extensionUri),
    });
    this.attach(kind, ref, panel);
  }

  /** A panel VS Code brings back after a reload, with the state its webview saved. */
  restore(kind: PanelKind, panel: vscode.WebviewPanel, state: unknown): void {
    let saved: PanelState;
    try {
      saved = PanelState.parse(state, 'saved panel state');
      if (saved.kind !== kind) throw new Error(`saved panel state: a ${saved.kind} panel restored as ${kind}`);
    } catch (e) {
      this.host.log.warn(`cannot restore a ${kind} panel: ${(e as Error).message}`);
      panel.dispose();
      return;
    }
    if (this.open_.has(panelKey(kind, saved.ref))) {
      panel.dispose();
      return;
    }
    this.attach(kind, saved.ref, panel);
  }

  private attach(kind: PanelKind, ref: DomainRef, panel: vscode.WebviewPanel): void {
    const key = panelKey(kind, ref);
    this.open_.set(key, panel);
    const webview = panel.webview;
    webview.options = { enableScripts: true, localResourceRoots: localResourceRoots(this.extensionUri) };
    panel.title = title(kind, ref);
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'hefery.svg');
    const log = this.host.log;
    const controller: PanelController = createController(kind, {
      ref,
      api: () => this.host.api(ref.hostId),
      post: (msg) => {
        // A hidden webview drops messages; it asks for everything again ('ready') when shown.
        void webview.postMessage(msg).then(undefined, (e: Error) => log.debug(`panel ${key}: post failed: ${e.message}`));
      },
      log,
      now: () => Date.now(),
    });
    const subscriptions: vscode.Disposable[] = [
      webview.onDidReceiveMessage((raw: unknown) => {
        let msg: ToHost;
        try {
          msg = ToHost.parse(raw, 'message from the panel');
        } catch (e) {
          log.error(`${title(kind, ref)}: ${(e as Error).message}`);
          return;
        }
        controller.handle(msg).catch((e: Error) => log.error(`${title(kind, ref)}: ${e.message}`));
      }),
    ];
    webview.html = panelHtml({
      kind,
      title: title(kind, ref),
      nonce: newNonce(),
      cspSource: webview.cspSource,
      uri: (...path) => webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, ...path)).toString(),
    });
    panel.onDidDispose(() => {
      this.open_.delete(key);
      controller.dispose();
      for (const s of subscriptions) s.dispose();
    });
  }

  dispose(): void {
    for (const p of [...this.open_.values()]) p.dispose();
  }
}

function title(kind: PanelKind, ref: DomainRef): string {
  return `${PANEL_TITLES[kind]}: ${ref.domain} (${ref.hostId})`;
}
