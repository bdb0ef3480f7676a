// The extension half of the demo: a real sshd on loopback and the extension
// in code-server, when the end-to-end harness (test/e2e/harness.ts) is there.
// Returns null (and says why) when it is not.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../test/fixtures/libvirt';

export interface ExtensionDemo {
  stop(): Promise<void>;
}

export async function runExtensionDemo(o: { socketPath: string; runDir: string; say: (m: string) => void }): Promise<ExtensionDemo | null> {
  const harness = join(REPO_ROOT, 'test', 'e2e', 'demo.ts');
  if (!existsSync(harness)) {
    o.say('the VS Code half of the demo is not installed in this build (test/e2e/demo.ts missing)');
    return null;
  }
  const mod = (await import(harness)) as { startExtensionDemo(o: { socketPath: string; runDir: string; say: (m: string) => void }): Promise<ExtensionDemo> };
  return mod.startExtensionDemo(o);
}
