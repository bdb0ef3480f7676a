// What every command module gets from activate().

import type * as vscode from 'vscode';
import { userInfo } from 'node:os';
import type { DomainRef } from '../core/contract';
import type { HostsModel } from '../core/hostsModel';
import type { PanelKind } from '../panels';

export interface CommandContext {
  extension: vscode.ExtensionContext;
  model: HostsModel;
  log: vscode.LogOutputChannel;
  /** Re-reads hefery.hosts and ~/.ssh/config into the model. */
  reloadHosts(): void;
  /** Opens a panel; rejects with a clear error when the panels are not available. */
  openPanel(kind: PanelKind, ref: DomainRef): Promise<void>;
}

/** Who the agent's audit log names for actions from this window. */
export function who(): string {
  return `vscode:${userInfo().username}`.slice(0, 128);
}
