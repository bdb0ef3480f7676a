// Passphrases of encrypted SSH keys: kept only in VS Code's SecretStorage
// (the OS keychain where there is one), asked for with a password input box
// when none is stored, stored only once it decrypted the key, forgotten when
// it no longer does. Never written to settings or to the log.

import * as vscode from 'vscode';
import type { PassphraseSource } from './core/sshConnection';

const PREFIX = 'hefery.passphrase:';

export class PassphraseStore {
  constructor(private readonly secrets: vscode.SecretStorage, private readonly log: vscode.LogOutputChannel) {}

  /** The source the SSH layer uses; `interactive` false (reconnects): stored passphrases only. */
  source(interactive: boolean): PassphraseSource {
    return {
      get: async (keyFile, retry) => {
        if (!retry) {
          const stored = await this.secrets.get(PREFIX + keyFile);
          if (stored !== undefined) return stored;
        }
        if (!interactive) {
          this.log.warn(`no stored passphrase for ${keyFile}; connect from the command palette to enter it`);
          return undefined;
        }
        return vscode.window.showInputBox({
          title: `Passphrase for ${keyFile}`,
          prompt: retry ? 'That passphrase did not decrypt the key. Try again.' : 'Kept in VS Code\'s secret storage once it works.',
          password: true,
          ignoreFocusOut: true,
        });
      },
      accepted: async (keyFile, passphrase) => {
        await this.secrets.store(PREFIX + keyFile, passphrase);
      },
      rejected: async (keyFile) => {
        await this.secrets.delete(PREFIX + keyFile);
      },
    };
  }

  async forget(keyFile: string): Promise<void> {
    await this.secrets.delete(PREFIX + keyFile);
  }
}
