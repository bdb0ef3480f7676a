// The VS Code half of `bash scripts/demo.sh`: a real sshd on loopback and
// the extension in code-server, configured for the demo's agent. Prints the
// URL to open in a browser; a headless Chromium takes a first look (connects
// the host, accepting its key, and opens the live risk panel of the guest the
// agent protects) and saves a screenshot.

import { connectAgent } from '../../host-agent/src/rpc/client';
import { missingPrerequisite } from './env';
import { startExtensionStack } from './extensionStack';
import { CMD, connectAcceptingHostKey, openPanel } from './flows';
import { Workbench } from './workbench';

const HOST = 'demo-host';

/** The domain the agent protects (else the first running one). */
async function demoDomain(socketPath: string): Promise<string | undefined> {
  const conn = await connectAgent(socketPath, { client: 'hefery-demo' });
  try {
    const list = await conn.peer.call('domains.list', {});
    const running = list.filter((d) => d.state === 'running');
    return (running.find((d) => d.protection && d.protection.mode !== 'unprotected') ?? running[0])?.name;
  } finally {
    conn.close();
  }
}

export async function startExtensionDemo(o: { socketPath: string; runDir: string; say: (m: string) => void }): Promise<{ stop(): Promise<void> }> {
  const missing = missingPrerequisite();
  if (missing) {
    o.say(`the VS Code half of the demo cannot start: ${missing}`);
    return { stop: async () => undefined };
  }
  o.say('starting sshd and code-server with the extension…');
  const stack = await startExtensionStack({ socketPath: o.socketPath, hostName: HOST });
  o.say(`VS Code (code-server) with the Hefery extension: ${stack.codeServer.url}`);
  o.say(`  from another machine: ssh -L ${stack.codeServer.port}:127.0.0.1:${stack.codeServer.port} <this host>, then open the URL`);
  o.say(`  host "${HOST}" is the sshd on 127.0.0.1:${stack.sshd.port}, host key ${stack.sshd.fingerprint}`);
  try {
    const wb = await Workbench.open(stack.codeServer.url);
    try {
      await connectAcceptingHostKey(wb, HOST);
      o.say(`  a headless browser connected it and accepted that key (saved in ${stack.knownHostsPath})`);
      const domain = await demoDomain(o.socketPath);
      if (domain) {
        await openPanel(wb, CMD.openRisk, domain);
        await wb.page.waitForTimeout(5000);
        o.say(`  screenshot of the live risk panel of ${domain}: ${await wb.screenshot('demo-risk')}`);
      }
    } finally {
      await wb.close();
    }
  } catch (e) {
    o.say(`  (no screenshot: ${(e as Error).message.split('\n')[0]})`);
  }
  o.say('  in VS Code: the Hefery view (activity bar), then Hefery: Open Live Risk / Checkpoint Frequency / Training Panel');
  return { stop: stack.stop };
}
