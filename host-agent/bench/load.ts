// Load and soak benchmark: prints figures, asserts nothing (the shortened
// run with assertions is test/reliability/load-soak.test.ts).
//   npm run bench:load -- [--minutes 10] [--domains 200] [--clients 5] [--json FILE]
// The real agent daemon with a SYNTHETIC stats source (200 made-up domains:
// libvirt cannot give that many here) and real extension clients on the
// real Unix socket; see soak.ts for what is measured.

import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatReport, runLoad } from './soak';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '10' },
      domains: { type: 'string', default: '200' },
      clients: { type: 'string', default: '5' },
      'interval-ms': { type: 'string', default: '1000' },
      'warmup-s': { type: 'string' },
      json: { type: 'string' },
    },
  });
  const num = (name: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name}: expected a number >= ${min}, got "${v}"`);
    return n;
  };
  const report = await runLoad({
    minutes: num('minutes', values.minutes, 0.5),
    domains: num('domains', values.domains, 1),
    clients: num('clients', values.clients, 1),
    intervalMs: num('interval-ms', values['interval-ms'], 100),
    warmupS: values['warmup-s'] === undefined ? undefined : num('warmup-s', values['warmup-s'], 0),
    progress: (l) => console.log(`# ${l}`),
  });
  for (const line of formatReport(report)) console.log(line);
  if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2) + '\n');
}

main().catch((e: unknown) => {
  console.error(`bench:load: ${(e as Error)?.stack ?? String(e)}`);
  process.exit(1);
});
