// The user's side of the end-to-end tests: a real OpenSSH sshd on loopback
// (key-only, fresh host key), a user key for it, and the packaged extension
// in code-server configured for that host: hefery.hosts names the sshd and
// the agent's socket; known_hosts and the SSH config are empty files in the
// temp dir, so the first connection meets an unknown host key.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateUserKey, startSshd, type Sshd, type UserKey } from '../fixtures/sshd';
import { startCodeServer, type CodeServer } from './codeServer';
import { packageExtension } from './vsix';

export const HOST_NAME = 'e2e-host';

export interface ExtensionStack {
  sshd: Sshd;
  key: UserKey;
  codeServer: CodeServer;
  knownHostsPath: string;
  settings: Record<string, unknown>;
  stop(): Promise<void>;
}

export async function startExtensionStack(o: { socketPath: string; hostName?: string }): Promise<ExtensionStack> {
  const dir = mkdtempSync(join(tmpdir(), 'hefery-e2e-ext-'));
  const cleanups: Array<() => Promise<unknown> | unknown> = [() => rmSync(dir, { recursive: true, force: true })];
  const stop = async () => {
    for (const c of cleanups.splice(0).reverse()) await Promise.resolve().then(c).catch((e: Error) => process.stderr.write(`[e2e] cleanup: ${e.message}\n`));
  };
  try {
    const vsix = join(dir, 'hefery.vsix');
    const [key] = await Promise.all([generateUserKey(dir, { name: 'id_ed25519' }), packageExtension(vsix)]);
    const sshd = await startSshd({ authorizedKeys: [key.publicKeyLine] });
    cleanups.push(() => sshd.stop());
    const knownHostsPath = join(dir, 'known_hosts');
    const sshConfigPath = join(dir, 'ssh_config');
    writeFileSync(knownHostsPath, '', { mode: 0o600 });
    writeFileSync(sshConfigPath, '', { mode: 0o600 });
    const settings = {
      'hefery.hosts': [{
        name: o.hostName ?? HOST_NAME,
        host: sshd.host,
        port: sshd.port,
        username: sshd.user,
        identityFile: key.privateKeyPath,
        socketPath: o.socketPath,
      }],
      'hefery.knownHostsPath': knownHostsPath,
      'hefery.sshConfigPath': sshConfigPath,
      'hefery.readSshConfig': false,
    };
    const codeServer = await startCodeServer({ vsix: [vsix], settings });
    cleanups.push(() => codeServer.stop());
    return { sshd, key, codeServer, knownHostsPath, settings, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
