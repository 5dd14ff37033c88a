/**
 * The whole `nsd` program: every command (the shell, the demo, c/r, host, races, web, migrate) and
 * what they load — the model kernel, the userland, the c/r engine, the web view. main.ts loads it
 * for every command but `nsd host`, which needs only the host backend (host-commands.ts).
 */
import type { Command } from 'commander';
import { SIGINT } from '../abi/constants.js';
import { sessionLeader } from '../userland/index.js';
import { copyIn, copyOut, parseBind, type Bind } from './bind.js';
import { Session, defaultEnv } from './session.js';
import { DEMO_SCRIPT } from './demo.js';
import { addCrCommands, modelOptions, type ModelFlags } from './cr-commands.js';
import { addHostCommands } from './host-commands.js';
import { runDemo } from '../cr/demo.js';
import { addRacesCommands } from './races-commands.js';
import { addWebCommands, endWeb, startWebFor } from './web-commands.js';
import { runDemoLive } from '../web/demo-live.js';
import { addMigrateCommands } from './migrate-commands.js';
import { baseProgram } from './base.js';

interface KernelFlags extends ModelFlags {
  bind: string[];
  web?: boolean;
}

/** Runs a session to its end; resolves with the exit status. */
async function runSession(argv: string[], flags: KernelFlags, interactive: boolean): Promise<number> {
  const binds: Bind[] = flags.bind.map(parseBind);
  let partial = '';
  const track = (b: Uint8Array) => {
    const text = Buffer.from(b).toString('utf8');
    const nl = text.lastIndexOf('\n');
    partial = nl < 0 ? partial + text : text.slice(nl + 1);
  };
  let web: Awaited<ReturnType<typeof startWebFor>> | null = null;
  const session = new Session({
    profile: flags.profile,
    seed: flags.seed,
    trace: flags.trace ? (line) => process.stderr.write(line + '\n') : undefined,
    stdout: (b) => {
      track(b);
      web?.output(Buffer.from(b).toString('utf8'));
      process.stdout.write(b);
    },
    stderr: (b) => {
      track(b);
      process.stderr.write(b);
    },
  });
  for (const b of binds) copyIn(session.kernel, b);
  session.start(argv, defaultEnv());
  if (flags.web) web = await startWebFor(session.kernel);

  let wake: (() => void) | null = null;
  const kick = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const sleep = (ms: number | null) =>
    new Promise<void>((resolve) => {
      const t = ms === null ? null : setTimeout(() => kick(), Math.max(0, ms));
      wake = () => {
        if (t) clearTimeout(t);
        resolve();
      };
    });

  let stdinStarted = false;
  let prompting = false;
  let rl: import('node:readline').Interface | null = null;
  const startInput = async () => {
    if (stdinStarted) return;
    stdinStarted = true;
    if (interactive) {
      const readline = await import('node:readline');
      rl = readline.createInterface({ input: process.stdin, output: process.stdout, terminal: true, historySize: 1000 });
      rl.on('line', (line) => {
        partial = '';
        prompting = false;
        session.input(line + '\n');
        kick();
      });
      rl.on('SIGINT', () => {
        // The terminal's interrupt character: SIGINT to the foreground process group.
        const k = session.kernel;
        const leader = sessionLeader(k);
        const pgid = k.s.procs.get(leader)?.pgid;
        if (pgid !== undefined) for (const p of [...k.s.procs.values()]) if (p.pgid === pgid) k.sendSignalToProc(p.tgid, SIGINT);
        (rl as unknown as { line: string }).line = '';
        prompting = false;
        process.stdout.write('^C');
        kick();
      });
      rl.on('close', () => {
        session.endInput();
        kick();
      });
    } else {
      process.stdin.on('data', (d: Buffer) => {
        session.input(new Uint8Array(d));
        kick();
      });
      process.stdin.on('end', () => {
        session.endInput();
        kick();
      });
      process.stdin.on('error', () => {
        session.endInput();
        kick();
      });
    }
  };

  let status = 1;
  for (;;) {
    const r = session.runSlice();
    if (r === 'done') {
      status = session.status ?? 1;
      break;
    }
    if (r === 'busy') {
      await new Promise((res) => setImmediate(res));
      continue;
    }
    if (r === 'timer' && !interactive) {
      session.advance();
      continue;
    }
    if (r === 'input' || r === 'timer') {
      // Interactive: wait for a line (showing the prompt if the shell reads the console) or for
      // the next timer, in wall-clock time; the virtual clock follows the time actually waited.
      const k = session.kernel;
      if (k.sleepers('dev:console').length > 0) {
        await startInput();
        if (rl && !prompting) {
          prompting = true;
          const prompt = partial;
          partial = '';
          process.stdout.write('\r\x1b[K');
          (rl as import('node:readline').Interface).setPrompt(prompt);
          (rl as import('node:readline').Interface).prompt(true);
        }
      }
      const deadline = k.nextDeadline();
      const t0 = Date.now();
      await sleep(deadline === null ? null : (deadline - k.now) / 1e6);
      if (deadline !== null) k.advance(Math.min((Date.now() - t0) * 1e6, deadline - k.now));
      continue;
    }
    process.stderr.write('nsd: every task sleeps and nothing can wake it (deadlock)\n');
    status = 1;
    break;
  }
  for (const b of binds) copyOut(session.kernel, b);
  if (web) await endWeb(web, `the session exited with status ${status}`);
  if (rl) (rl as import('node:readline').Interface).close();
  if (stdinStarted && !interactive) process.stdin.destroy();
  return status;
}

export function buildProgram(): Command {
  const program = baseProgram();

  modelOptions(
    program
      .command('sh')
      .description('run the model shell in a fresh kernel: interactive, -c CMDS, or SCRIPT [ARGS...]')
      .argument('[script]', 'script file inside the model (or the $0 of -c)')
      .argument('[args...]', 'positional parameters')
      .option('-c <cmds>', 'run CMDS and exit with their status')
      .option('-i, --interactive', 'interactive even when stdin is not a terminal')
      .option('--web', 'also serve a live view of the kernel on 127.0.0.1 (docs/web.md)')
      .passThroughOptions(),
    true,
  ).action(async (script: string | undefined, args: string[], opts: { c?: string; interactive?: boolean } & KernelFlags) => {
    let argv: string[];
    let interactive = false;
    if (opts.c !== undefined) argv = ['/bin/sh', '-c', opts.c, ...(script !== undefined ? [script, ...args] : [])];
    else if (script !== undefined) argv = ['/bin/sh', script, ...args];
    else {
      interactive = opts.interactive === true || process.stdin.isTTY === true;
      argv = interactive ? ['/bin/sh', '-i'] : ['/bin/sh'];
    }
    process.exitCode = await runSession(argv, opts, interactive);
  });

  modelOptions(
    program
      .command('demo')
      .description('the main demo: checkpoint a running container and restore it with each strategy (nsd, with-id, mainline); --bind, --seed and --trace apply to --shell only')
      .option('--shell', 'instead: a short shell session presetting a pid and an fd with next_syscall_data')
      .option('--web', 'serve the c/r progress and before/after tables (or, with --shell, the live kernel) on 127.0.0.1'),
    true,
  ).action(async (opts: KernelFlags & { shell?: boolean }) => {
    if (opts.shell) {
      process.exitCode = await runSession(['/bin/sh', '-c', DEMO_SCRIPT], opts, false);
      return;
    }
    const shellOnly = [opts.bind.length > 0 && '--bind', opts.seed !== 0 && '--seed', opts.trace && '--trace'].filter(Boolean);
    if (shellOnly.length) {
      process.stderr.write(`nsd demo: ${shellOnly.join(', ')} can only be used with --shell\n`);
      process.exitCode = 2;
      return;
    }
    const web = opts.web ? await startWebFor(null) : null;
    // With --web the demo runs in a worker thread, so its progress reaches the page as it happens
    // (each dump/restore step held 25 ms so it can be followed).
    const r = web
      ? await runDemoLive(web, (s) => void process.stdout.write(s), { profile: opts.profile }, 25)
      : runDemo((s) => void process.stdout.write(s), { tty: process.stdout.isTTY === true, profile: opts.profile });
    process.exitCode = Object.values(r.verdicts).every((v) => v === 'OK') ? 0 : 1;
    if (web) await endWeb(web, 'the demo has finished');
  });
  addCrCommands(program);
  addHostCommands(program);
  addRacesCommands(program);
  addWebCommands(program);
  addMigrateCommands(program);
  return program;
}
