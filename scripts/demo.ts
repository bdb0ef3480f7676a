// The demo: a real QEMU guest (TCG) under a real libvirtd, the Hefery agent
// sampling it every second, a changing workload inside the guest, and (when
// the end-to-end harness is installed) the extension in a real VS Code
// (code-server) connected over a real sshd. Prints where to look.
//
//   npx tsx scripts/demo.ts [--seconds N]     (default: until Ctrl-C)

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLibvirt, REPO_ROOT } from '../test/fixtures/libvirt';
import { createTestNet } from '../test/fixtures/netns';
import { bootGuest, ensureGuestImage } from '../test/fixtures/guest';
import { runExtensionDemo } from './demo-extension';

const secondsArg = process.argv.indexOf('--seconds');
const seconds = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : Infinity;

function say(msg: string): void {
  process.stdout.write(`[demo] ${msg}\n`);
}

async function waitFor(path: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (Date.now() > end) throw new Error(`${path} did not appear within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function main(): Promise<void> {
  const runDir = mkdtempSync(join(tmpdir(), 'hefery-demo-'));
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stopping…');
    for (const c of cleanups.reverse()) await Promise.resolve().then(c).catch((e) => say(`cleanup: ${(e as Error).message}`));
    rmSync(runDir, { recursive: true, force: true });
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  try {
    await ensureGuestImage();
    const services = await startLibvirt();
    cleanups.push(() => services.stop());
    const net = await createTestNet();
    cleanups.push(() => net.destroy());
    say('booting the guest under QEMU (TCG)…');
    const guest = await bootGuest({ net, name: 'hefery-demo' });
    cleanups.push(() => guest.destroy());
    say(`guest ${guest.name} up in ${guest.bootSeconds.toFixed(1)} s`);

    const agent: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'host-agent/src/cli.ts'), 'serve',
      '--config', join(REPO_ROOT, 'host-agent/config/demo.json'), '--run-dir', runDir], { stdio: ['ignore', 'inherit', 'inherit'] });
    cleanups.push(() => new Promise<void>((r) => { agent.once('exit', () => r()); agent.kill('SIGTERM'); }));
    const socket = join(runDir, 'agent.sock');
    await waitFor(socket, 30_000);

    // A workload with a rhythm: idle, CPU bursts, disk writes, memory pressure.
    let tick = 0;
    const workload = setInterval(() => {
      tick += 1;
      const phase = tick % 6;
      const job = phase === 1 ? guest.cpu(8) : phase === 3 ? guest.disk(4) : phase === 5 ? guest.mem(32, 8) : guest.blob(256);
      job.catch((e: Error) => say(`workload: ${e.message}`));
    }, 10_000);
    cleanups.push(() => clearInterval(workload));

    say('the agent is sampling. Look at it with:');
    say(`  node --import tsx host-agent/src/cli.ts domains --socket ${socket}`);
    say(`  node --import tsx host-agent/src/cli.ts history ${guest.name} --since 5m --socket ${socket}`);
    say(`  sqlite3 ${join(runDir, 'hefery.db')} 'select * from samples order by ts desc limit 5'`);

    const ext = await runExtensionDemo({ socketPath: socket, runDir, say });
    if (ext) cleanups.push(ext.stop);

    if (Number.isFinite(seconds)) setTimeout(() => void stop(0), seconds * 1000);
    else say('Ctrl-C stops the demo and removes everything it started.');
  } catch (e) {
    say(`failed: ${(e as Error).message}`);
    await stop(1);
  }
}

void main();
