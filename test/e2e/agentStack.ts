// The host side of the end-to-end tests: the real libvirtd, a real QEMU
// guest (TCG) on its own network segment with a rhythmic workload, and the
// real agent daemon (`hefery-agent serve`) sampling it, protecting it with
// the dry-run backend, training and predicting.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAgentCli, startAgentProcess, type CliResult } from '../fixtures/agent';
import { startGuestStack, type TestGuest } from '../fixtures/guest';
import { uniqueId } from '../fixtures/netns';
import { Teardown } from '../fixtures/teardown';
import { jobs, startRhythm } from '../fixtures/workload';

export interface AgentStack {
  guest: TestGuest;
  socket: string;
  runDir: string;
  agentLog(): string;
  /** `hefery-agent ARGS --socket SOCKET` with the real CLI. */
  cli(args: string[]): Promise<CliResult>;
  stop(): Promise<void>;
}

export async function startAgentStack(o: { report?: (m: string) => void } = {}): Promise<AgentStack> {
  const report = o.report ?? ((m: string) => process.stderr.write(`[e2e] ${m}\n`));
  const teardown = new Teardown();
  try {
    const { services, guest } = await startGuestStack(teardown, { name: `hefery-e2e-${uniqueId()}` });
    report(`guest ${guest.name} up in ${guest.bootSeconds.toFixed(1)} s`);

    const runDir = mkdtempSync(join(tmpdir(), 'hefery-e2e-agent-'));
    teardown.add(() => rmSync(runDir, { recursive: true, force: true }));
    const agent = startAgentProcess({
      libvirt: { uri: services.uri },
      socket: { path: '${HEFERY_RUN_DIR}/agent.sock' },
      store: { path: '${HEFERY_RUN_DIR}/hefery.db' },
      modelDir: '${HEFERY_RUN_DIR}/models',
      pidFile: '${HEFERY_RUN_DIR}/agent.pid',
      sampling: { intervalMs: 1000 },
      logLevel: 'info',
      // Only this test's guest is protected (other guests on the machine are listed, not touched).
      policy: { protect: [guest.name] },
      // A small model so training finishes in seconds on a busy 2-core machine.
      prediction: { loadLevels: 1, restarts: 2, maxIterations: 30 },
    }, runDir);
    teardown.add(() => agent.stop());
    const socket = join(runDir, 'agent.sock');
    await agent.listening(socket);

    // Something every 5 s (CPU, disk, memory, network) so the figures move
    // and the model has something to learn.
    teardown.add(startRhythm(guest, {
      everyMs: 5000,
      jobs: [jobs.cpu(4), jobs.disk(2), jobs.mem(24, 4), jobs.download(256)],
      report,
    }));

    return {
      guest,
      socket,
      runDir,
      agentLog: agent.log,
      cli: (args) => runAgentCli([...args, '--socket', socket]),
      stop: () => teardown.run(report),
    };
  } catch (e) {
    await teardown.run(report);
    throw e;
  }
}
