// The host side of the end-to-end tests: the real libvirtd, a real QEMU
// guest (TCG) on its own network segment with a rhythmic workload, and the
// real agent daemon (`hefery-agent serve`) sampling it, protecting it with
// the dry-run backend, training and predicting.

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgentProcess } from '../fixtures/agent';
import { bootGuest, ensureGuestImage, type TestGuest } from '../fixtures/guest';
import { startLibvirt } from '../fixtures/libvirt';
import { createTestNet, uniqueId } from '../fixtures/netns';
import { REPO } from './env';

const CLI = join(REPO, 'host-agent', 'src', 'cli.ts');

export interface AgentStack {
  guest: TestGuest;
  socket: string;
  runDir: string;
  agentLog(): string;
  /** `hefery-agent ARGS --socket SOCKET` with the real CLI. */
  cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

/** Runs `fn` for every step, in reverse order, ignoring (but reporting) failures. */
async function unwind(steps: Array<() => Promise<unknown> | unknown>, report: (m: string) => void): Promise<void> {
  for (const s of steps.reverse()) await Promise.resolve().then(s).catch((e: Error) => report(`cleanup: ${e.message}`));
}

export async function startAgentStack(o: { report?: (m: string) => void } = {}): Promise<AgentStack> {
  const report = o.report ?? ((m: string) => process.stderr.write(`[e2e] ${m}\n`));
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  try {
    await ensureGuestImage();
    const services = await startLibvirt();
    cleanups.push(() => services.stop());
    const net = await createTestNet();
    cleanups.push(() => net.destroy());
    const guest = await bootGuest({ net, name: `hefery-e2e-${uniqueId()}` });
    cleanups.push(() => guest.destroy());
    report(`guest ${guest.name} up in ${guest.bootSeconds.toFixed(1)} s`);

    const runDir = mkdtempSync(join(tmpdir(), 'hefery-e2e-agent-'));
    cleanups.push(() => rmSync(runDir, { recursive: true, force: true }));
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
    cleanups.push(() => agent.stop());
    const socket = join(runDir, 'agent.sock');
    await agent.listening(socket);

    // A workload with a rhythm (idle, CPU, disk, memory, network) so the
    // figures move and the model has something to learn.
    let tick = 0;
    const workload = setInterval(() => {
      tick += 1;
      const phase = tick % 4;
      const job = phase === 1 ? guest.cpu(4) : phase === 2 ? guest.disk(2) : phase === 3 ? guest.mem(24, 4) : guest.blob(256);
      job.catch((e: Error) => report(`workload: ${e.message}`));
    }, 5000);
    cleanups.push(() => clearInterval(workload));

    return {
      guest,
      socket,
      runDir,
      agentLog: agent.log,
      cli: (args) => cli([...args, '--socket', socket]),
      stop: () => unwind(cleanups.splice(0), report),
    };
  } catch (e) {
    await unwind(cleanups, report);
    throw e;
  }
}

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: REPO, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      res({ code, stdout, stderr });
    });
  });
}
