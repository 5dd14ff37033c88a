#!/usr/bin/env node
/**
 * The `nsd` command: `nsd sh` (interactive shell in a fresh kernel), `nsd sh -c CMDS`,
 * `nsd sh SCRIPT [ARGS…]`, `nsd demo`, and the c/r, host, races, web and migrate commands
 * (program.ts). See docs/cli.md.
 */
// First, before the rest loads: dump/restore/migrate re-exec with huge pages for malloc (hugepages.ts).
import { commandOf } from './hugepages.js';
import type { Command } from 'commander';

// A reader that goes away (`nsd sh … | head`): end as a process killed by SIGPIPE would
// (status 128+13, silently), not with Node's unhandled 'error' event and a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(141);
    throw e;
  });
}

/**
 * The program for this command line: for `nsd host …` only the host commands (loading the model
 * kernel, the shell, the c/r engine and the web view would take ~150 ms of a host restore's start);
 * else the whole program.
 */
async function programFor(argv: readonly string[]): Promise<Command> {
  if (commandOf(argv) === 'host') {
    const [{ baseProgram }, { addHostCommands }] = await Promise.all([import('./base.js'), import('./host-commands.js')]);
    const program = baseProgram();
    addHostCommands(program);
    return program;
  }
  return (await import('./program.js')).buildProgram();
}

programFor(process.argv)
  .then((program) => program.parseAsync(process.argv))
  .catch((e: unknown) => {
    process.stderr.write(`nsd: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
