// End to end, on real components only: a QEMU guest (TCG) under libvirtd,
// the agent daemon sampling, predicting and protecting it (dry-run backend),
// an OpenSSH sshd on loopback, the packaged extension inside code-server,
// and Chromium driving the workbench. The steps build on each other (one
// workbench, one connection), so they run in order and stop at the first
// failure. Screenshots of every panel land in .artifacts/e2e/.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connectAgent, type AgentConnection } from '../../host-agent/src/rpc/client';
import type { Decision } from '../../host-agent/src/protocol/api';
import { startAgentStack, type AgentStack } from './agentStack';
import { missingPrerequisite } from './env';
import { HOST_NAME, startExtensionStack, type ExtensionStack } from './extensionStack';
import type { FrameLocator } from 'playwright-core';
import { CMD, connectAcceptingHostKey, openPanel } from './flows';
import { chartInk, seriesColor, Workbench } from './workbench';
import { sleep, waitFor, type NotYet } from '../fixtures/wait';

const skip = missingPrerequisite() ?? false;


let agent: AgentStack;
let ext: ExtensionStack;
let wb: Workbench;
let rpc: AgentConnection;
let failed = false;

before(async () => {
  if (skip) return;
  agent = await startAgentStack();
  ext = await startExtensionStack({ socketPath: agent.socket });
  wb = await Workbench.open(ext.codeServer.url);
  rpc = await connectAgent(agent.socket, { client: 'hefery-e2e' });
}, { timeout: 600_000 });

after(async () => {
  if (skip) return;
  if (failed && wb) await wb.screenshot('failure').catch(() => undefined);
  rpc?.close();
  await wb?.close();
  await ext?.stop();
  await agent?.stop();
}, { timeout: 120_000 });

/** A step that records failure, so the suite leaves a screenshot of where it stopped. */
function step(name: string, fn: () => Promise<void>, timeoutMs = 180_000): void {
  test(name, { skip, timeout: timeoutMs }, async () => {
    if (failed) throw new Error('an earlier step failed');
    try {
      await fn();
    } catch (e) {
      failed = true;
      await wb?.screenshot(`failed-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`).catch(() => undefined);
      throw e;
    }
  });
}

async function decisions(): Promise<Decision[]> {
  return rpc.peer.call('decisions.list', { domain: agent.guest.name, from: 0, to: Date.now() + 1000 });
}

/** Opens a panel of the test guest. */
function openGuestPanel(command: string): Promise<FrameLocator> {
  return openPanel(wb, command, agent.guest.name);
}

/** Waits for `fn`'s answer, polling twice a second; a probe that fails (a page mid-reload) counts as not yet. */
const until = <T>(what: string, fn: () => Promise<T | NotYet>, timeoutMs = 60_000) => waitFor(what, () => fn().catch(() => undefined), timeoutMs, undefined, 500);

step('connect over the real sshd: the unknown host key is asked with its SHA256 fingerprint, the live guest appears with moving figures', async () => {
  const prompt = await connectAcceptingHostKey(wb, HOST_NAME);
  const host = wb.treeItem(HOST_NAME);
  assert.ok(prompt.includes(ext.sshd.fingerprint), `the prompt names the sshd's key ${ext.sshd.fingerprint}:\n${prompt}`);
  const domainRow = wb.treeItem(agent.guest.name);
  await until('the guest in the tree', async () => {
    await wb.expand(host);
    return domainRow.isVisible();
  });
  // The accepted key is in known_hosts (hashed or not: ask OpenSSH's own lookup).
  const found = execFileSync('ssh-keygen', ['-F', `[127.0.0.1]:${ext.sshd.port}`, '-f', ext.knownHostsPath], { encoding: 'utf8' });
  assert.ok(found.includes(readFileSync(`${ext.sshd.hostKeyPath}.pub`, 'utf8').split(' ')[1]), `known_hosts holds the sshd's key:\n${found}`);
  // Moving figures: the row's text (CPU %, memory %...) changes while we watch.
  const first = await domainRow.innerText();
  const changed = await until('the domain row to change', async () => {
    const now = await domainRow.innerText();
    return now !== first ? now : undefined;
  }, 30_000);
  assert.match(changed, /%/, `figures in the row: ${changed}`);
  await wb.screenshot('tree');
});

step('"Hefery: Train Model" from the palette trains a model on the agent and reports it', async () => {
  // Some history first: the agent has sampled since the start of the suite.
  await wb.runCommandAnswering(CMD.train, { title: /Choose a domain/, pick: agent.guest.name });
  await wb.notification(/trained model/i).waitFor({ timeout: 240_000 });
  const model = await until('a model on the agent', async () => (await rpc.peer.call('model.get', { domain: agent.guest.name })) ?? undefined, 240_000);
  assert.ok(model.iterations >= 1);
  assert.equal(model.transition.length, model.states.length);
  await wb.screenshot('train-command');
}, 300_000);

step('the live risk panel draws the risk and the raw metrics', async () => {
  const view = await openGuestPanel(CMD.openRisk);
  const metrics = await until('raw metrics drawn', async () => {
    const ink = await chartInk(view, 'metrics-chart');
    return ink.points > 10 && (ink.pixels['CPU'] ?? 0) > 50 ? ink : undefined;
  });
  assert.ok((metrics.pixels['memory'] ?? 0) > 50, JSON.stringify(metrics));
  const risk = await until('risk drawn', async () => {
    const ink = await chartInk(view, 'risk-chart');
    return ink.points > 2 && (ink.pixels['risk (next step)'] ?? 0) > 20 ? ink : undefined;
  }, 90_000);
  assert.ok(risk.points > 2);
  const summary = await view.locator('#risk-chart-summary').innerText();
  assert.match(summary, /risk values over the last 30 minutes; now \d/);
  // The policy's raise/lower levels are drawn as reference lines.
  const status = (await rpc.peer.call('domains.list', {})).find((d) => d.name === agent.guest.name)?.protection;
  assert.ok(status?.thresholds, 'the agent reports the policy thresholds of a protected domain');
  assert.match(summary, new RegExp(`thresholds at ${(status.thresholds.lower * 100).toFixed(1)} %, ${(status.thresholds.raise * 100).toFixed(1)} %`));
  // The figures above the charts follow the stream too.
  await view.locator('#fig-state', { hasText: 'running' }).waitFor({ timeout: 10_000 });
  await view.locator('#fig-mode', { hasText: /automatic|pinned|fail-safe/ }).waitFor({ timeout: 10_000 });
  await wb.screenshot('panel-risk');
});

step('the checkpoint frequency panel draws the interval over time and lists each decision with its reason', async () => {
  const view = await openGuestPanel(CMD.openFrequency);
  const ink = await until('the interval drawn', async () => {
    const i = await chartInk(view, 'interval-chart');
    return i.points >= 2 && (i.pixels['interval'] ?? 0) > 50 ? i : undefined;
  });
  assert.ok(ink.points >= 2);
  const rows = view.locator('.decisions tbody tr');
  const agentSide = await decisions();
  assert.ok(agentSide.length >= 1, 'the agent has decisions');
  await until('the decisions table', async () => (await rows.count()) >= agentSide.length);
  assert.match(await rows.last().innerText(), /start-up/);
  await wb.screenshot('panel-frequency');
});

step('the training panel shows the model (health meaning, heat maps) and trains with the likelihood drawn live', async () => {
  const view = await openGuestPanel(CMD.openTraining);
  await view.locator('#model-version').waitFor({ timeout: 60_000 });
  const model = await rpc.peer.call('model.get', { domain: agent.guest.name });
  assert.ok(model);
  assert.equal(await view.locator('#model-version').innerText(), model.version);
  assert.equal(Number(await view.locator('#transition-map').getAttribute('data-cells')), model.states.length ** 2);
  assert.equal(Number(await view.locator('#emission-map').getAttribute('data-cells')), model.states.length * model.symbols);
  const healthRows = await view.locator('#model-info tbody tr').allInnerTexts();
  assert.equal(healthRows.length, model.states.length);
  // Train from the panel: the likelihood per iteration is drawn as it comes.
  await view.locator('#train').click();
  await view.locator('#train-status[data-result="ok"]').waitFor({ timeout: 240_000 });
  // The chart redraws a few times a second: give it the moment to catch up with the end.
  const ink = await until('the likelihood curves drawn', async () => {
    const i = await chartInk(view, 'll-chart');
    return i.points >= 2 && (i.pixels['restart 1'] ?? 0) > 20 ? i : undefined;
  }, 10_000);
  assert.ok(ink.points >= 2, JSON.stringify(ink));
  const newer = await rpc.peer.call('model.get', { domain: agent.guest.name });
  assert.notEqual(newer!.version, model.version, 'the panel trained a new model');
  await view.locator('#model-version', { hasText: newer!.version }).waitFor({ timeout: 10_000 });
  await wb.screenshot('panel-training');
  await view.locator('#matrices-h').evaluate((el) => el.scrollIntoView());
  await sleep(500);
  await wb.screenshot('panel-training-matrices');
}, 300_000);

step('pin an interval from the palette: the agent applies it; resume automatic mode', async () => {
  const before = (await decisions()).length;
  await wb.runCommandAnsweringAll(CMD.pin, [
    { title: /Choose a domain/, pick: agent.guest.name },
    { title: /Pin the checkpoint interval/, type: '500ms' },
    { title: /How long should the pin hold/, pick: 'No expiry' },
  ]);
  const pin = await until('the override in the audit log', async () => (await decisions()).slice(before).find((d) => d.kind === 'override'));
  assert.equal(pin.newIntervalMs, 500);
  assert.equal(pin.applied, true, pin.error);
  const status = (await rpc.peer.call('domains.list', {})).find((d) => d.name === agent.guest.name)?.protection;
  assert.equal(status?.mode, 'pinned');
  assert.equal(status?.intervalMs, 500);
  // The agent's own CLI sees it too.
  const cli = await agent.cli(['decisions', agent.guest.name, '--since', '10m']);
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, /override/);
  // The frequency panel marks it.
  await wb.focusTab(/Checkpoint frequency/);
  const view = wb.webview();
  await view.locator('.decisions tbody tr[data-kind="override"]').first().waitFor({ timeout: 30_000 });
  await view.locator('#fig-mode', { hasText: /pinned/ }).waitFor({ timeout: 30_000 });
  await wb.screenshot('panel-frequency-pinned');

  await wb.runCommandAnswering(CMD.resume, { title: /Choose a domain/, pick: agent.guest.name });
  const resume = await until('the resume in the audit log', async () => (await decisions()).find((d) => d.kind === 'resume' && d.ts >= pin.ts));
  assert.equal(resume.applied, true, resume.error);
  await until('automatic mode on the agent', async () => (await rpc.peer.call('domains.list', {})).find((d) => d.name === agent.guest.name)?.protection?.mode === 'auto');
  await view.locator('.decisions tbody tr[data-kind="resume"]').first().waitFor({ timeout: 30_000 });
});

step('"Show Agent Log" shows the host agent\'s own log lines, read over the SSH connection', async () => {
  await wb.runCommand(CMD.agentLog);
  const lines = wb.page.locator('.part.panel .monaco-editor .view-lines');
  // The output view shows the end of the channel: every line in the agent's format there must be one the agent wrote.
  const shown = await until('agent log lines in the output view', async () => {
    const text = (await lines.innerText()).replace(/\u00a0/g, ' ');
    const stamped = text.split('\n').filter((l) => /^\d{4}-\d\d-\d\dT[\d:.]+Z (DEBUG|INFO |WARN |ERROR) /.test(l));
    return stamped.length >= 3 ? stamped : undefined;
  }, 60_000);
  const written = agent.agentLog();
  for (const l of shown) assert.ok(written.includes(l.trimEnd()), `shown but not in the agent's stderr:\n${l}`);
  await wb.screenshot('agent-log');
});

step('a theme switch recolours the charts from the new --vscode-* values', async () => {
  await wb.focusTab(/Live risk/);
  const view = wb.webview();
  const before = await seriesColor(view, 'metrics-chart', 'CPU');
  await wb.runCommandAnswering('Preferences: Color Theme', { pick: 'Dark Modern' });
  const after = await until('the CPU line in the new theme\'s colour', async () => {
    const c = await seriesColor(view, 'metrics-chart', 'CPU');
    return c !== before ? c : undefined;
  }, 30_000);
  assert.notEqual(after, before);
  await until('the metrics drawn again', async () => (((await chartInk(view, 'metrics-chart')).pixels['CPU'] ?? 0) > 50 ? true : undefined));
  await wb.screenshot('panel-risk-dark');
  // Shown again, the training panel has its last run back (replayed by the extension).
  await wb.focusTab(/Training/);
  const training = wb.webview();
  await training.locator('#train-status[data-result="ok"]').waitFor({ timeout: 30_000 });
  await until('the last run drawn again', async () => (((await chartInk(training, 'll-chart')).pixels['restart 1'] ?? 0) > 20 ? true : undefined), 30_000);
  await wb.screenshot('panel-training-dark');
});

step('after a window reload the panels come back with their data (serializers + saved state)', async () => {
  await wb.runCommand(CMD.reload);
  await wb.page.locator('.part.statusbar').waitFor({ timeout: 90_000 });
  for (const title of [/Live risk/, /Checkpoint frequency/, /Training/]) {
    await wb.page.locator('.tabs-container .tab').filter({ hasText: title }).first().waitFor({ timeout: 90_000 });
  }
  await wb.focusTab(/Live risk/);
  const view = wb.webview();
  await view.locator('.link[data-state="connected"]').waitFor({ timeout: 90_000 });
  await until('metrics after the reload', async () => ((await chartInk(view, 'metrics-chart')).points > 10 ? true : undefined));
  await wb.screenshot('panel-risk-after-reload');
}, 240_000);

step('no panel broke its Content-Security-Policy', async () => {
  assert.deepEqual(wb.panelCspViolations(), []);
});
