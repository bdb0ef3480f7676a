// The demo: a real QEMU guest (TCG) under a real libvirtd, the Hefery agent
// sampling it every second, a changing workload inside the guest, and (when
// the end-to-end harness is installed) the extension in a real VS Code
// (code-server) connected over a real sshd. Prints where to look.
//
//   npx tsx scripts/demo.ts [--seconds N]     (default: until Ctrl-C)

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../test/fixtures/libvirt';
import { startGuestStack } from '../test/fixtures/guest';
import { startAgentProcess } from '../test/fixtures/agent';
import { Teardown } from '../test/fixtures/teardown';
import { jobs, startRhythm } from '../test/fixtures/workload';
import { runExtensionDemo } from './demo-extension';

const secondsArg = process.argv.indexOf('--seconds');
const seconds = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : Infinity;

function say(msg: string): void {
  process.stdout.write(`[demo] ${msg}\n`);
}

async function main(): Promise<void> {
  const runDir = mkdtempSync(join(tmpdir(), 'hefery-demo-'));
  const teardown = new Teardown();
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stopping…');
    await teardown.run(say);
    rmSync(runDir, { recursive: true, force: true });
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  try {
    say('booting the guest under QEMU (TCG)…');
    const { guest } = await startGuestStack(teardown, { name: 'hefery-demo' });
    say(`guest ${guest.name} up in ${guest.bootSeconds.toFixed(1)} s`);

    const agent = startAgentProcess(join(REPO_ROOT, 'host-agent/config/demo.json'), runDir, { echo: (t) => process.stdout.write(t) });
    teardown.add(() => agent.stop());
    const socket = join(runDir, 'agent.sock');
    await agent.listening(socket);

    // A workload with a rhythm: CPU bursts, disk writes, memory pressure, with quieter downloads between.
    const download = jobs.download(256);
    teardown.add(startRhythm(guest, {
      everyMs: 10_000,
      jobs: [jobs.cpu(8), download, jobs.disk(4), download, jobs.mem(32, 8), download],
      report: say,
    }));

    say('the agent is sampling. Look at it with:');
    say(`  node --import tsx host-agent/src/cli.ts domains --socket ${socket}`);
    say(`  node --import tsx host-agent/src/cli.ts history ${guest.name} --since 5m --socket ${socket}`);
    say(`  sqlite3 ${join(runDir, 'hefery.db')} 'select * from samples order by ts desc limit 5'`);

    const ext = await runExtensionDemo({ socketPath: socket, runDir, say });
    if (ext) teardown.add(ext.stop);

    if (Number.isFinite(seconds)) setTimeout(() => void stop(0), seconds * 1000);
    else say('Ctrl-C stops the demo and removes everything it started.');
  } catch (e) {
    say(`failed: ${(e as Error).message}`);
    await stop(1);
  }
}

void main();
