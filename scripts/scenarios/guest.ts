// The scenario guest: the test fixture's guest (test/fixtures/guest.ts) with
//   - ACPI and an ISA pvpanic device, so that a kernel panic reaches QEMU
//     (GUEST_PANICKED) and libvirt applies <on_crash>destroy</on_crash>:
//     the agent records the crashed event;
//   - optionally its disk overlay on a small host tmpfs, so that the guest's
//     writes fill the host storage and QEMU pauses it on ENOSPC (QEMU's
//     default werror=enospc), as a thin-provisioned VM on a full datastore.

import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../test/fixtures/libvirt';
import { GUEST_DIR } from '../../test/fixtures/guest';

function replaceOnce(xml: string, anchor: string | RegExp, by: (m: string) => string, what: string): string {
  const re = typeof anchor === 'string' ? new RegExp(anchor.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'g') : new RegExp(anchor.source, 'g');
  const n = (xml.match(re) ?? []).length;
  if (n !== 1) throw new Error(`scenario domain XML: expected one ${what}, found ${n}`);
  return xml.replace(re, by);
}

const xmlAttr = (s: string) => s.replace(/&/g, '&amp;').replace(/'/g, '&apos;').replace(/</g, '&lt;');

/** The fixture's domain XML plus ACPI, a pvpanic device and (optionally) another disk overlay path. */
export function scenarioDomainXml(xml: string, o: { diskPath?: string } = {}): string {
  let out = replaceOnce(xml, '</os>', (m) => `${m}\n  <features>\n    <acpi/>\n  </features>`, '</os>');
  out = replaceOnce(out, '</devices>', (m) => `  <panic model='isa'>\n      <address type='isa' iobase='0x505'/>\n    </panic>\n  ${m}`, '</devices>');
  if (o.diskPath) out = replaceOnce(out, /<source file='[^']*'\/>(?=\s*<target dev='vda')/, () => `<source file='${xmlAttr(o.diskPath as string)}'/>`, 'vda disk source');
  return out;
}

export interface HostDisk {
  /** The overlay the domain uses. */
  path: string;
  remove(): Promise<void>;
}

/** A qcow2 overlay of the guest's base disk on a fresh tmpfs of `sizeMiB` under `dir`. */
export async function smallHostDisk(dir: string, sizeMiB: number): Promise<HostDisk> {
  const mnt = join(dir, 'hostdisk');
  mkdirSync(mnt, { recursive: true });
  await run('mount', ['-t', 'tmpfs', '-o', `size=${Math.round(sizeMiB)}m,mode=0755`, 'hefery-scenario', mnt]);
  let removed = false;
  const remove = async () => {
    if (removed) return;
    removed = true;
    await run('umount', [mnt]).catch(() => run('umount', ['-l', mnt]));
    rmSync(mnt, { recursive: true, force: true });
  };
  try {
    const path = join(mnt, 'disk.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', join(GUEST_DIR, 'disk.qcow2'), '-F', 'qcow2', path]);
    return { path, remove };
  } catch (e) {
    await remove();
    throw e;
  }
}
