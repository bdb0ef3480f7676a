// `hefery-agent <command> [options]`: the agent's command-line entry point.
// Each command lives in host-agent/src/cli/<name>.ts and exports
//   run(argv: string[]): Promise<number>   (the exit code)
//   usage: string
// and is registered with ONE line in COMMANDS below. A command throws
// UsageError (cli/common.ts) for a bad command line (exit 2); any other
// error is printed as `hefery-agent <command>: <message>` (exit 1, or the
// error's numeric `exitCode`).

import { EXIT } from './cli/common';

export interface CommandModule {
  run(argv: string[]): Promise<number>;
  usage: string;
}

interface Command {
  summary: string;
  load: () => Promise<CommandModule>;
}

// One line per command.
export const COMMANDS: Record<string, Command> = {
  serve: { summary: 'run the agent daemon', load: () => import('./cli/serve') },
  domains: { summary: 'list the domains the running agent sees', load: async () => (await import('./cli/query')).domains },
  status: { summary: 'can the running agent write its store and collect stats (exit 1 if not)', load: () => import('./cli/status') },
  log: { summary: "print (or follow) the running agent's recent log lines", load: () => import('./cli/log') },
  history: { summary: "print a domain's recent samples from the running agent", load: async () => (await import('./cli/query')).history },
  evaluate: { summary: 'score detectors (hmm, baselines) on labelled traces or NAB data', load: () => import('./cli/evaluate') },
  train: { summary: 'train an HMM offline from the store or CSV files', load: () => import('./cli/train') },
  score: { summary: 'risk per row of a CSV file under a model', load: () => import('./cli/score') },
  replay: { summary: 'run a recorded trace through predictor and policy (dry run)', load: () => import('./cli/replay') },
  pin: { summary: "pin a domain's checkpoint interval (operator override)", load: () => import('./cli/pin') },
  resume: { summary: "end a domain's pin: the policy decides again", load: () => import('./cli/resume') },
  decisions: { summary: "print a domain's checkpoint-interval decisions (audit log)", load: () => import('./cli/decisions') },
};

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    'usage: hefery-agent <command> [options]',
    '',
    'commands:',
    ...lines,
    '',
    "Run 'hefery-agent <command> --help' for a command's options.",
    'Exit codes: 0 ok, 1 failure, 2 bad command line, 3 no agent reachable.',
  ].join('\n');
}

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

const stdio: Io = { out: (s) => void process.stdout.write(s + '\n'), err: (s) => void process.stderr.write(s + '\n') };

/** Runs one command line; resolves with the exit code. */
export async function main(argv: string[], io: Io = stdio): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.err : io.out)(usage());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (!Object.prototype.hasOwnProperty.call(COMMANDS, name)) {
    io.err(`hefery-agent: unknown command "${name}"\n\n${usage()}`);
    return EXIT.usage;
  }
  const cmd = await COMMANDS[name].load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(cmd.usage);
    return EXIT.ok;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    const err = e as Error & { exitCode?: unknown };
    if (err?.name === 'UsageError') {
      io.err(`hefery-agent ${name}: ${err.message}\n\n${cmd.usage}`);
      return EXIT.usage;
    }
    io.err(`hefery-agent ${name}: ${err?.message ?? String(e)}`);
    return typeof err?.exitCode === 'number' ? err.exitCode : EXIT.failure;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`hefery-agent: ${(e as Error)?.stack ?? String(e)}\n`);
      process.exitCode = EXIT.failure;
    },
  );
}
