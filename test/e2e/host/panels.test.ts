// Runs inside VS Code's extension host (mocha, BDD): what only VS Code can
// tell about the panels: the commands open one webview panel per kind and
// domain with the kind's viewType, a second open reveals the same panel,
// and closing it lets a new one open. Run by test/e2e/host-suite.e2e.ts in
// code-server, and by @vscode/test-cli (.vscode-test.mjs) in a desktop VS Code.

import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

const EXTENSION_ID = 'hefery.hefery';
/** A host no setting names: the panels open and report that they cannot reach it. */
const ref = (domain: string) => ({ hostId: 'no-such-host', domain });

function webviewTabs(viewType: string): vscode.Tab[] {
  return vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith(viewType));
}

async function eventually(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function closeAll(): Promise<void> {
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}

describe('Hefery panels in the extension host', function () {
  this.timeout(60_000);

  before(async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `extension ${EXTENSION_ID} is installed`);
    await ext.activate();
    await closeAll();
  });

  after(closeAll);

  it('contributes a command per panel', async () => {
    const all = await vscode.commands.getCommands(true);
    for (const c of ['hefery.openTrainingPanel', 'hefery.openRiskPanel', 'hefery.openFrequencyPanel']) assert.ok(all.includes(c), c);
  });

  it('opens one webview panel per kind with its own viewType and title', async () => {
    await vscode.commands.executeCommand('hefery.openRiskPanel', ref('vm1'));
    await vscode.commands.executeCommand('hefery.openFrequencyPanel', ref('vm1'));
    await vscode.commands.executeCommand('hefery.openTrainingPanel', ref('vm1'));
    await eventually('three panels', () => webviewTabs('hefery.risk').length === 1 && webviewTabs('hefery.frequency').length === 1 && webviewTabs('hefery.training').length === 1);
    assert.equal(webviewTabs('hefery.risk')[0].label, 'Live risk: vm1 (no-such-host)');
    assert.equal(webviewTabs('hefery.frequency')[0].label, 'Checkpoint frequency: vm1 (no-such-host)');
    assert.equal(webviewTabs('hefery.training')[0].label, 'Training: vm1 (no-such-host)');
  });

  it('reveals the open panel of the same kind and domain instead of opening a second', async () => {
    await vscode.commands.executeCommand('hefery.openRiskPanel', ref('vm1'));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(webviewTabs('hefery.risk').length, 1);
    assert.ok(webviewTabs('hefery.risk')[0].isActive, 'the revealed panel is the active tab');
  });

  it('opens a separate panel for another domain, and a new one after closing', async () => {
    await vscode.commands.executeCommand('hefery.openRiskPanel', ref('vm2'));
    await eventually('a second risk panel', () => webviewTabs('hefery.risk').length === 2);
    await vscode.window.tabGroups.close(webviewTabs('hefery.risk').filter((t) => t.label.includes('vm1')));
    await eventually('the vm1 panel closed', () => webviewTabs('hefery.risk').length === 1);
    await vscode.commands.executeCommand('hefery.openRiskPanel', ref('vm1'));
    await eventually('vm1 open again', () => webviewTabs('hefery.risk').length === 2);
  });
});
