// The question OpenSSH asks on the terminal, as a modal dialog: an unknown
// host key with its SHA256 fingerprint, "Accept and Save" or cancel. There is
// no dialog for a changed key: that is an error (hostKeys.ts), never a choice.

import * as vscode from 'vscode';
import type { UnknownHostKey } from './core/hostKeys';

export const ACCEPT = 'Accept and Save';

export function hostKeyDetail(q: UnknownHostKey, knownHostsFile: string): string {
  const lines = [
    `The authenticity of host ${q.host} can't be established.`,
    `${q.keyType} key fingerprint is ${q.fingerprint}.`,
  ];
  if (q.otherTypes.length) lines.push(`known_hosts already holds ${q.otherTypes.join(', ')} key(s) for this host; the server now offers a ${q.keyType} key.`);
  lines.push(
    'Compare it with the host\'s own fingerprint (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub on the host) before you accept.',
    `Accepting saves the key to ${knownHostsFile}; no user name or key is sent before that.`,
  );
  return lines.join('\n');
}

export async function askHostKey(q: UnknownHostKey, knownHostsFile: string): Promise<boolean> {
  const choice = await vscode.window.showWarningMessage(`Unknown SSH host key for ${q.host}`, { modal: true, detail: hostKeyDetail(q, knownHostsFile) }, ACCEPT);
  return choice === ACCEPT;
}
