// Reliability fixture: a libvirtd of the test's own, in a private mount
// namespace, so a test may kill and restart it without touching the
// libvirtd other tests (or people) use on the same machine.
//
// A holder process (`unshare --mount ... sleep`) keeps the namespace alive.
// Inside it, tmpfs covers /run/libvirt, /var/lib/libvirt, /var/log/libvirt,
// /var/cache/libvirt and /etc/libvirt (qemu.conf written here: QEMU as root,
// no security driver, no cgroups, QEMU's output straight to files so no
// virtlogd is needed). Every command that must reach this libvirtd (virsh,
// the agent) runs through `nsenter --mount`. Domains are real QEMU (TCG)
// guests booting the test guest's kernel; they get no NIC (no test needs
// their network), so nothing waits for them to boot.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { domainXml, ensureGuestImage, GUEST_DIR } from '../../fixtures/guest';
import { REPO_ROOT, run } from '../../fixtures/libvirt';
import { waitUntil } from '../../fixtures/wait';
import { processAlive } from '../../../host-agent/src/processes';

const PRIVATE_DIRS = ['/run/libvirt', '/var/lib/libvirt', '/var/log/libvirt', '/var/cache/libvirt', '/etc/libvirt'];
const QEMU_CONF = [
  'user = "root"', 'group = "root"', 'dynamic_ownership = 0', 'remember_owner = 0',
  'security_driver = "none"', 'cgroup_controllers = [ ]', 'namespaces = [ ]', 'stdio_handler = "file"',
].join('\n') + '\n';
const PID_FILE = '/run/libvirt/hefery-reliability-libvirtd.pid';
export const URI = 'qemu:///system';

export interface PrivateDomain {
  name: string;
  /** virsh destroy (ignores "not running"). */
  destroy(): Promise<void>;
}

export interface PrivateLibvirt {
  uri: string;
  /** argv that runs `cmd args` inside the namespace. */
  wrap(cmd: string, args: string[]): [string, string[]];
  virsh(...args: string[]): Promise<string>;
  /** QEMU's x-checkpoint-delay of a running domain, read with virsh (independently of Hefery). */
  checkpointDelay(domain: string): Promise<number>;
  /** Starts a transient domain (`virsh create`), or defines and starts a persistent one. */
  createDomain(name: string, opts?: { persistent?: boolean }): Promise<PrivateDomain>;
  /** SIGTERM to libvirtd; resolves once it exited (its QEMU guests keep running). */
  killLibvirtd(): Promise<void>;
  startLibvirtd(): Promise<void>;
  stop(): Promise<void>;
}

/** Why a private libvirtd cannot run here, or undefined. */
export function privateLibvirtUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (mount namespaces, libvirtd)';
  for (const bin of ['/usr/sbin/libvirtd', '/usr/bin/unshare', '/usr/bin/nsenter', '/usr/bin/virsh']) {
    if (!existsSync(bin)) return `${bin} is missing (scripts/setup-system.sh installs it)`;
  }
  return undefined;
}

export async function startPrivateLibvirt(): Promise<PrivateLibvirt> {
  await ensureGuestImage();
  const work = mkdtempSync(join(tmpdir(), 'hefery-rel-libvirt-'));
  // The holder mounts the tmpfs dirs itself, after unshare(2): nothing can
  // land in the machine's own namespace. A marker file in the private
  // /run/libvirt is checked before libvirtd is started (see startLibvirtd).
  const marker = `/run/libvirt/.hefery-private-${process.pid}-${Date.now()}`;
  const mounts = PRIVATE_DIRS.map((d) => `mkdir -p ${d} && mount -t tmpfs -o mode=0755 tmpfs ${d}`).join(' && ');
  const setup = `${mounts} && mkdir -p /var/lib/libvirt/qemu /var/log/libvirt/qemu && printf '%s' '${QEMU_CONF}' > /etc/libvirt/qemu.conf && touch ${marker} && echo ready && exec sleep infinity`;
  const holder: ChildProcess = spawn('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', setup], { stdio: ['ignore', 'pipe', 'pipe'] });
  const holderGone = new Promise<void>((r) => holder.once('exit', () => r()));
  const pid = holder.pid;
  if (pid === undefined) throw new Error('cannot start unshare');
  await new Promise<void>((resolve, reject) => {
    let err = '';
    holder.stderr?.on('data', (c: Buffer) => (err += c.toString()));
    holder.stdout?.once('data', () => resolve());
    holder.once('exit', (code) => reject(new Error(`cannot set up a private mount namespace for libvirtd (exit ${code}): ${err}`)));
  });
  if (readlinkSync(`/proc/${pid}/ns/mnt`) === readlinkSync('/proc/self/ns/mnt')) {
    holder.kill('SIGKILL');
    throw new Error('unshare did not create a new mount namespace');
  }
  // nsenter would start in /: keep the repository as working directory (tsx, relative paths).
  const wrap = (cmd: string, args: string[]): [string, string[]] => ['nsenter', ['-t', String(pid), '-m', `--wd=${REPO_ROOT}`, '--', cmd, ...args]];
  const inNs = (cmd: string, args: string[], timeoutMs?: number) => {
    const [c, a] = wrap(cmd, args);
    return run(c, a, { timeoutMs });
  };
  const virsh = async (...args: string[]) => (await inNs('virsh', ['-q', '-c', URI, ...args])).stdout;
  const answers = () => inNs('virsh', ['-q', '-c', URI, 'uri'], 5000).then(() => true, () => false);
  const domains: string[] = [];

  const libvirtdPid = async (): Promise<number | null> => {
    const out = await inNs('cat', [PID_FILE]).catch(() => null);
    const n = out ? Number(out.stdout.trim()) : NaN;
    return Number.isInteger(n) && n > 0 ? n : null;
  };

  const lv: PrivateLibvirt = {
    uri: URI,
    wrap,
    virsh,
    async checkpointDelay(domain) {
      const out = await virsh('qemu-monitor-command', domain, '{"execute":"query-migrate-parameters"}');
      return (JSON.parse(out) as { return: { 'x-checkpoint-delay': number } }).return['x-checkpoint-delay'];
    },
    async createDomain(name, opts = {}) {
      const base = join(work, `domain-${domains.length}-${Date.now()}`); // the name may hold any character
      const overlay = `${base}.qcow2`;
      await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', join(GUEST_DIR, 'disk.qcow2'), '-F', 'qcow2', overlay]);
      // The fixture's domain XML without its NIC (no bridge in this namespace's tests).
      const xml = domainXml({ name, memoryMiB: 96, overlay, bridge: 'none', consoleLog: `${overlay}.console` })
        .replace(/\s*<interface type='bridge'>[\s\S]*?<\/interface>/, '');
      const file = `${base}.xml`;
      writeFileSync(file, xml);
      if (opts.persistent) {
        await virsh('define', file);
        await virsh('start', name);
      } else {
        await virsh('create', file);
      }
      domains.push(name);
      return {
        name,
        destroy: () => virsh('destroy', name).then(() => undefined, (e: Error) => {
          if (!/not running|not found|no domain/i.test(e.message)) throw e;
        }),
      };
    },
    async killLibvirtd() {
      const p = await libvirtdPid();
      if (p === null) throw new Error('the private libvirtd has no pid file');
      process.kill(p, 'SIGTERM');
      await waitUntil(`libvirtd ${p} to exit`, () => !processAlive(p), 20_000);
    },
    async startLibvirtd() {
      // Only where the private /run/libvirt is mounted: never next to the machine's own libvirtd.
      await inNs('sh', ['-c', `test -f ${marker} && LIBVIRT_LOG_OUTPUTS="3:file:/var/log/libvirt/libvirtd.log" exec libvirtd -d -p ${PID_FILE}`]);
      await waitUntil('the private libvirtd to answer', answers, 30_000).catch(async (e: Error) => {
        const log = await inNs('tail', ['-20', '/var/log/libvirt/libvirtd.log']).catch(() => ({ stdout: '' }));
        throw new Error(`${e.message}\n${log.stdout}`);
      });
    },
    async stop() {
      if (holder.exitCode === null && holder.signalCode === null) {
        // Every domain this libvirtd knows, not only those created here: a test may rename one and start it again.
        const known = await virsh('list', '--all', '--name').then((out) => out.split('\n').map((l) => l.trim()).filter(Boolean), () => []);
        for (const d of new Set([...domains, ...known])) {
          await virsh('destroy', d).catch(() => undefined);
          await virsh('undefine', d).catch(() => undefined);
        }
        const p = await libvirtdPid();
        if (p !== null && processAlive(p)) {
          process.kill(p, 'SIGTERM');
          await waitUntil('libvirtd to exit', () => !processAlive(p), 20_000).catch(() => process.kill(p, 'SIGKILL'));
        }
        holder.kill('SIGKILL');
        await holderGone;
      }
      // A QEMU that outlived its libvirtd (killed mid-test) still runs on an overlay in `work`: end it before the files go.
      for (const pid of processesMentioning(work)) process.kill(pid, 'SIGKILL');
      rmSync(work, { recursive: true, force: true });
    },
  };
  try {
    await lv.startLibvirtd();
  } catch (e) {
    await lv.stop().catch(() => undefined);
    throw e;
  }
  return lv;
}

/** Pids of the processes whose command line mentions `text` (from /proc; not this process). */
function processesMentioning(text: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text)) out.push(pid);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
