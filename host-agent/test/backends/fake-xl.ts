// A FAKE `xl` for the xen-remus backend tests. Xen cannot run on these
// machines (the real `xl remus` runs in helper E's nested Xen lane), so this
// stand-in executable plays the parts of xl the backend relies on and records
// what it was asked, with times, to DIR/record.jsonl:
//   xl remus -i MS [opts] DOMAIN HOST   runs until fenced or signalled; prints
//                                       "fake-xl: replicating" after 50 ms
//   xl destroy DOMAIN--incoming         the fence: the running fake remus of
//                                       DOMAIN then exits like real xl does when
//                                       its backup fails ("resuming domain at primary")
// Per-domain behaviour comes from DIR/mode.DOMAIN:
//   fail           exit 1 at once with an error message
//   die:MS         replicate for MS ms, then exit 1 (a crash)
//   stubborn       ignore the fence and SIGTERM (the backend must SIGKILL)
// and DIR/fence-fail makes `xl destroy` fail.

import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FakeXlRecord {
  ev: 'start' | 'exit' | 'fence';
  pid: number;
  argv: string[];
  t: number;
  how?: string;
}

export interface FakeXl {
  dir: string;
  /** Path of the fake executable. */
  xl: string;
  records(): FakeXlRecord[];
  setMode(domain: string, mode: 'fail' | `die:${number}` | 'stubborn' | null): void;
  setFenceFails(fail: boolean): void;
  cleanup(): void;
}

const SCRIPT = (dir: string) => `#!${process.execPath}
// FAKE xl (test stand-in; see host-agent/test/backends/fake-xl.ts)
const fs = require('fs');
const DIR = ${JSON.stringify(dir)};
const argv = process.argv.slice(2);
const rec = (ev, extra) => fs.appendFileSync(DIR + '/record.jsonl', JSON.stringify({ ev, pid: process.pid, argv, t: Date.now(), ...extra }) + '\\n');
if (argv[0] === 'destroy') {
  rec('fence');
  if (fs.existsSync(DIR + '/fence-fail')) { process.stderr.write('libxl: error: fake fence failure\\n'); process.exit(1); }
  fs.writeFileSync(DIR + '/fenced.' + argv[1].replace(/--incoming$/, ''), '');
  process.exit(0);
}
if (argv[0] !== 'remus') { process.stderr.write('fake xl: unsupported command ' + argv[0] + '\\n'); process.exit(2); }
const domain = argv[argv.length - 2];
const modeFile = DIR + '/mode.' + domain;
const mode = fs.existsSync(modeFile) ? fs.readFileSync(modeFile, 'utf8').trim() : 'run';
rec('start');
const exit = (code, how) => { rec('exit', { how }); process.exit(code); };
if (mode === 'fail') { process.stderr.write('libxl: error: fake: domain ' + domain + ' cannot be suspended\\n'); exit(1, 'fail'); }
try { fs.unlinkSync(DIR + '/fenced.' + domain); } catch {}
setTimeout(() => process.stdout.write('fake-xl: replicating ' + domain + '\\n'), 50);
if (mode.startsWith('die:')) setTimeout(() => { process.stderr.write('Remus: Backup failed? resuming domain at primary.\\n'); exit(1, 'died'); }, Number(mode.slice(4)));
process.on('SIGTERM', () => { if (mode !== 'stubborn') exit(143, 'SIGTERM'); });
setInterval(() => {
  if (mode !== 'stubborn' && fs.existsSync(DIR + '/fenced.' + domain)) {
    fs.unlinkSync(DIR + '/fenced.' + domain);
    process.stderr.write('Remus: Backup failed? resuming domain at primary.\\n');
    exit(1, 'fenced');
  }
}, 20);
`;

export function makeFakeXl(): FakeXl {
  const dir = mkdtempSync(join(tmpdir(), 'hefery-fake-xl-'));
  const xl = join(dir, 'xl');
  writeFileSync(xl, SCRIPT(dir));
  chmodSync(xl, 0o755);
  return {
    dir,
    xl,
    records() {
      const f = join(dir, 'record.jsonl');
      if (!existsSync(f)) return [];
      return readFileSync(f, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as FakeXlRecord);
    },
    setMode(domain, mode) {
      const f = join(dir, `mode.${domain}`);
      if (mode === null) rmSync(f, { force: true });
      else writeFileSync(f, mode);
    },
    setFenceFails(fail) {
      const f = join(dir, 'fence-fail');
      if (fail) writeFileSync(f, '');
      else rmSync(f, { force: true });
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

