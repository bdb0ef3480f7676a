// Host commands: add, connect, disconnect, refresh, show the extension's log
// and a host agent's log.

import * as vscode from 'vscode';
import { AgentLogReader } from '../core/agentLog';
import { DEFAULT_SOCKET_PATH, parseHostAddress } from '../core/hostConfig';
import { asHostId, pickHost, showError } from '../pickers';
import { config } from '../settings';
import type { CommandContext } from './context';

export function registerHostCommands(c: CommandContext): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand('hefery.addHost', () => addHost(c)),
    vscode.commands.registerCommand('hefery.connectHost', (arg?: unknown) => connect(c, arg)),
    vscode.commands.registerCommand('hefery.disconnectHost', (arg?: unknown) => disconnect(c, arg)),
    vscode.commands.registerCommand('hefery.refresh', (arg?: unknown) => refresh(c, arg)),
    vscode.commands.registerCommand('hefery.showLog', () => c.log.show()),
    vscode.commands.registerCommand('hefery.showAgentLog', (arg?: unknown) => showAgentLog(c, arg)),
    { dispose: () => agentLogs.forEach((v) => v.channel.dispose()) },
  ];
}

/** Per host: its output view and where the last read stopped. */
const agentLogs = new Map<string, { channel: vscode.OutputChannel; reader: AgentLogReader }>();

/** Appends the agent's log lines since the last read to the host's "Hefery Agent" view and shows it. */
async function showAgentLog(c: CommandContext, arg: unknown): Promise<void> {
  const id = asHostId(arg) ?? (await pickHost(c.model, "Show a Hefery host agent's log", (s) => s === 'connected'));
  if (!id) return;
  let view = agentLogs.get(id);
  try {
    const api = await c.model.connect(id, { interactive: true });
    if (!view) {
      view = { channel: vscode.window.createOutputChannel(`Hefery Agent: ${id}`), reader: new AgentLogReader(id) };
      agentLogs.set(id, view);
    }
    const lines = await view.reader.read(api);
    for (const l of lines) view.channel.appendLine(l);
    view.channel.show(true);
    if (lines.length === 0) vscode.window.setStatusBarMessage(`Hefery: no new agent log lines on ${id}`, 4000);
  } catch (e) {
    await showError(`cannot read the agent's log on ${id}: ${(e as Error).message}`, c.log);
  }
}

async function connect(c: CommandContext, arg: unknown): Promise<void> {
  const id = asHostId(arg) ?? (await pickHost(c.model, 'Connect to a Hefery host', (s) => s !== 'connected'));
  if (!id) return;
  try {
    await c.model.connect(id, { interactive: true });
    vscode.window.setStatusBarMessage(`Hefery: connected to ${id}`, 5000);
  } catch (e) {
    await showError(`cannot connect to ${id}: ${(e as Error).message}`, c.log);
  }
}

async function disconnect(c: CommandContext, arg: unknown): Promise<void> {
  const id = asHostId(arg) ?? (await pickHost(c.model, 'Disconnect a Hefery host', (s) => s !== 'disconnected'));
  if (id) c.model.disconnect(id);
}

async function refresh(c: CommandContext, arg: unknown): Promise<void> {
  const only = asHostId(arg);
  if (!only) c.reloadHosts();
  const ids = only ? [only] : c.model.hosts().filter((h) => h.state === 'connected').map((h) => h.id);
  for (const id of ids) {
    await c.model.refresh(id).catch((e: Error) => showError(`cannot list the domains of ${id}: ${e.message}`, c.log));
  }
}

async function addHost(c: CommandContext): Promise<void> {
  const address = await vscode.window.showInputBox({
    title: 'Add Hefery Host (1/4)',
    prompt: 'The host: an address, user@host:port, or a Host alias from ~/.ssh/config',
    placeHolder: 'root@hypervisor1.example.org',
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() === '' ? 'required' : typeof parseHostAddress(v) === 'string' ? (parseHostAddress(v) as string) : undefined),
  });
  if (address === undefined) return;
  const parsed = parseHostAddress(address);
  if (typeof parsed === 'string') return;
  const existing = config().get<Array<{ name?: string; host?: string }>>('hosts', []);
  const taken = new Set(existing.map((h) => h.name ?? h.host));
  const name = await vscode.window.showInputBox({
    title: 'Add Hefery Host (2/4)',
    prompt: 'Name shown in the Hosts view',
    value: parsed.host,
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() === '' ? 'required' : taken.has(v.trim()) ? `a host named "${v.trim()}" exists already` : undefined),
  });
  if (name === undefined) return;
  const identityFile = await vscode.window.showInputBox({
    title: 'Add Hefery Host (3/4)',
    prompt: 'Private key file (empty: the SSH agent, ~/.ssh/config and the usual ~/.ssh/id_* files). A passphrase is asked when needed and kept in VS Code\'s secret storage, never in settings.',
    placeHolder: '~/.ssh/id_ed25519',
    ignoreFocusOut: true,
  });
  if (identityFile === undefined) return;
  const socketPath = await vscode.window.showInputBox({
    title: 'Add Hefery Host (4/4)',
    prompt: 'Path of the hefery-agent socket on the host',
    value: DEFAULT_SOCKET_PATH,
    ignoreFocusOut: true,
    validateInput: (v) => (v.startsWith('/') ? undefined : 'an absolute path'),
  });
  if (socketPath === undefined) return;
  const entry = {
    name: name.trim(),
    host: parsed.host,
    ...(parsed.port !== undefined ? { port: parsed.port } : {}),
    ...(parsed.username ? { username: parsed.username } : {}),
    ...(identityFile.trim() ? { identityFile: identityFile.trim() } : {}),
    ...(socketPath !== DEFAULT_SOCKET_PATH ? { socketPath } : {}),
  };
  await config().update('hosts', [...existing, entry], vscode.ConfigurationTarget.Global);
  c.reloadHosts();
  const go = await vscode.window.showInformationMessage(`Hefery: added ${entry.name}.`, 'Connect');
  if (go === 'Connect') await connect(c, { hostId: entry.name });
}
