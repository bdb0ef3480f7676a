// The extension's settings (package.json contributes.configuration), read in
// one place, and the host list built from them and ~/.ssh/config.

import * as vscode from 'vscode';
import { homedir, hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { buildHostList, DEFAULT_SOCKET_PATH, type HostSpec } from './core/hostConfig';
import type { BackoffOptions } from './core/hostsModel';
import type { RiskThresholds } from './core/format';
import { SshConfig, type LocalContext } from './core/sshConfig';

export const SECTION = 'hefery';

export function config(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration(SECTION);
}

export function localContext(): LocalContext {
  const u = userInfo();
  return { home: homedir(), user: u.username, uid: u.uid, hostname: hostname(), env: process.env };
}

export function sshConfigPath(): string {
  return config().get<string>('sshConfigPath') || join(homedir(), '.ssh', 'config');
}

/** The configured hosts, and every problem found reading the settings and the SSH config. */
export function loadHosts(): { hosts: HostSpec[]; problems: string[] } {
  const c = config();
  const local = localContext();
  const readSsh = c.get<boolean>('readSshConfig', true);
  // The SSH config is read even when its hosts are not listed: settings entries may name its aliases.
  const sshConfig = SshConfig.load(sshConfigPath(), local.home);
  const r = buildHostList({
    settings: c.get<unknown>('hosts', []),
    sshConfig,
    local,
    knownHostsPath: c.get<string>('knownHostsPath') || undefined,
    defaultSocketPath: c.get<string>('defaultSocketPath') || DEFAULT_SOCKET_PATH,
    globalKnownHosts: '/etc/ssh/ssh_known_hosts',
  });
  if (!readSsh) r.hosts = r.hosts.filter((h) => h.source === 'settings');
  return r;
}

export function timeouts(): { connectTimeoutMs: number; keepaliveIntervalMs: number; keepaliveCountMax: number } {
  const c = config();
  return {
    connectTimeoutMs: Math.max(1, c.get<number>('connectTimeoutSeconds', 20)) * 1000,
    keepaliveIntervalMs: Math.max(1, c.get<number>('keepaliveIntervalSeconds', 15)) * 1000,
    keepaliveCountMax: 3,
  };
}

export function backoff(): Partial<BackoffOptions> {
  const c = config();
  return {
    maxMs: Math.max(1, c.get<number>('reconnect.maxDelaySeconds', 60)) * 1000,
    maxAttempts: Math.max(0, Math.floor(c.get<number>('reconnect.maxAttempts', 0))),
  };
}

export function riskThresholds(): RiskThresholds {
  const c = config();
  return { warn: c.get<number>('risk.warnLevel', 0.2), alert: c.get<number>('risk.alertLevel', 0.5) };
}

export function autoConnect(): string[] {
  return config().get<string[]>('autoConnect', []);
}
