// The VS Code half of `bash scripts/demo.sh`: a real sshd on loopback and
// the extension in code-server, configured for the demo's agent; prints the
// URL to open in a browser and saves a screenshot of the workbench.

import { startExtensionStack, HOST_NAME } from './extensionStack';
import { missingPrerequisite } from './env';
import { Workbench } from './workbench';

export async function startExtensionDemo(o: { socketPath: string; runDir: string; say: (m: string) => void }): Promise<{ stop(): Promise<void> }> {
  const missing = missingPrerequisite();
  if (missing) {
    o.say(`the VS Code half of the demo cannot start: ${missing}`);
    return { stop: async () => undefined };
  }
  o.say('starting sshd and code-server with the extension…');
  const stack = await startExtensionStack({ socketPath: o.socketPath });
  o.say(`VS Code (code-server) with the Hefery extension: ${stack.codeServer.url}`);
  o.say(`  host "${HOST_NAME}" is the sshd on 127.0.0.1:${stack.sshd.port} (host key ${stack.sshd.fingerprint}); open the Hefery view and connect it`);
  o.say(`  from another machine: ssh -L ${stack.codeServer.port}:127.0.0.1:${stack.codeServer.port} <this host>, then open the URL`);
  // A first look, so there is something to see without a browser.
  try {
    const wb = await Workbench.open(stack.codeServer.url);
    try {
      await wb.openViewContainer('Hefery');
      await wb.page.waitForTimeout(2000);
      o.say(`  screenshot of the workbench: ${await wb.screenshot('demo-workbench')}`);
    } finally {
      await wb.close();
    }
  } catch (e) {
    o.say(`  (no screenshot: ${(e as Error).message.split('\n')[0]})`);
  }
  return { stop: stack.stop };
}
