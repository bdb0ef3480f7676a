// Hefery's own UI flows in the workbench, shared by the e2e suite and the
// demo: the palette commands' titles, connecting a host (answering the
// unknown-host-key prompt) and opening a panel for a domain.

import type { FrameLocator } from 'playwright-core';
import type { Workbench } from './workbench';

/** Command titles as package.json contributes them ("Category: Title"). */
export const CMD = {
  connect: 'Hefery: Connect',
  train: 'Hefery: Train Model',
  openTraining: 'Hefery: Open Training Panel',
  openRisk: 'Hefery: Open Live Risk Panel',
  openFrequency: 'Hefery: Open Checkpoint Frequency Panel',
  pin: 'Hefery: Pin Checkpoint Interval',
  resume: 'Hefery: Resume Automatic Mode',
  agentLog: 'Hefery: Show Agent Log',
  reload: 'Developer: Reload Window',
};

/** Connects `host` from the palette and accepts its unknown host key; returns the prompt's text. */
export async function connectAcceptingHostKey(wb: Workbench, host: string): Promise<string> {
  await wb.openViewContainer('Hefery');
  await wb.treeItem(host).waitFor({ timeout: 60_000 });
  await wb.runCommand(CMD.connect);
  // With one configured host the command may connect at once; with a pick, choose ours.
  await wb.answerQuickInput({ pick: host, timeoutMs: 10_000 }).catch(() => undefined);
  return wb.answerDialog(/fingerprint|host key/i, /accept/i, 60_000);
}

/** Runs an open-panel command for `domain` and waits for the panel to be connected to its agent. */
export async function openPanel(wb: Workbench, command: string, domain: string): Promise<FrameLocator> {
  await wb.runCommandAnswering(command, { title: /Choose a domain/, pick: domain });
  const view = wb.webview();
  await view.locator('.link[data-state="connected"]').waitFor({ timeout: 60_000 });
  return view;
}
