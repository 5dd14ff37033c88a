/**
 * `nsd web [--port N] [--linger S] [-- CMD [ARGS...]]`: runs CMD (default: a small workload with a
 * message queue producer, a semaphore set, a shm segment, a pipe and a shell with an armed
 * next_syscall_data) in a fresh kernel and serves a live view of it on 127.0.0.1 (docs/web.md);
 * CMD's output goes to the terminal and to the page.
 * `--web` on `nsd sh` and `nsd demo` use `startWebFor` / `endWeb` from here.
 */
import { Command, InvalidArgumentError } from 'commander';
import type { Kernel } from '../syscalls/scheduler.js';
import { LiveView } from '../web/live.js';
import type { CrView } from '../web/view.js';
import { Session, defaultEnv } from './session.js';

/** The default workload of `nsd web`. */
export const WEB_DEFAULT_SCRIPT = [
  'ipcmk -S 2 >/dev/null',
  'ipcmk -M 4096 >/dev/null',
  'mq-producer 0x1234 0 2 >/dev/null &',
  'sh -c \'echo "LONG1 4242" > /proc/self/task/$$/next_syscall_data; sleep 100000\' &',
  'sleep 100000 | cat',
].join('\n');

export interface WebIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

const PROCESS_IO: WebIo = { stdout: (t) => void process.stdout.write(t), stderr: (t) => void process.stderr.write(t) };

/** Starts a live view of `kernel` and prints its address. */
export async function startWebFor(kernel: Kernel | null, io: WebIo = PROCESS_IO, port?: number): Promise<LiveView> {
  const live = await LiveView.start(kernel, { port });
  io.stderr(`nsd: web view at ${live.url}\n`);
  return live;
}

/** Waits `seconds` (null: until SIGINT/SIGTERM) before the server closes. */
export function linger(seconds: number | null): Promise<void> {
  return new Promise((resolve) => {
    if (seconds !== null) {
      setTimeout(resolve, seconds * 1000);
      return;
    }
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}

/**
 * Ends a `--web` view: the last state with `message` (and, for `nsd demo`, its c/r part and
 * output), kept up until interrupted on a terminal, for 2 s otherwise.
 */
export async function endWeb(live: LiveView, message: string, cr?: CrView, output?: string): Promise<void> {
  if (cr) live.cr = cr;
  if (output !== undefined) live.output(output);
  live.end(message);
  const tty = process.stdin.isTTY === true;
  process.stderr.write(`nsd: ${message}; the web view stays up ${tty ? 'until interrupted' : 'for 2s'}\n`);
  await linger(tty ? null : 2);
  await live.close();
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Runs a session with a live view: virtual time follows wall-clock time while everything sleeps,
 * so the page can be watched. Resolves with the session's exit status (1 on a panic or deadlock).
 */
export async function runWebSession(argv: string[], opts: { port?: number; linger: number | null; profile?: 'linux-6' | 'linux-2.6.26' }, io: WebIo = PROCESS_IO): Promise<number> {
  const dec = new TextDecoder();
  let live: LiveView | null = null;
  const session = new Session({
    profile: opts.profile,
    stdout: (b) => {
      live?.output(dec.decode(b));
      io.stdout(dec.decode(b));
    },
    stderr: (b) => {
      live?.output(dec.decode(b));
      io.stderr(dec.decode(b));
    },
  });
  live = await startWebFor(session.kernel, io, opts.port);
  session.endInput();
  session.start(argv, defaultEnv());
  let status = 1;
  try {
    for (;;) {
      const r = session.runSlice(500);
      if (r === 'done') {
        status = session.status ?? 1;
        live.end(`${argv.join(' ')} exited with status ${status}`);
        break;
      }
      if (r === 'busy') {
        await sleep(1);
        continue;
      }
      if (r === 'timer') {
        const k = session.kernel;
        const wait = Math.min(((k.nextDeadline() ?? k.now) - k.now) / 1e6, 250);
        const t0 = Date.now();
        await sleep(Math.max(1, wait));
        const d = k.nextDeadline();
        if (d !== null) k.advanceTo(Math.min(d, k.now + (Date.now() - t0) * 1e6));
        continue;
      }
      live.end('every task sleeps and nothing can wake it (deadlock)');
      break;
    }
  } catch (e) {
    live.end(e instanceof Error ? e.message : String(e), true);
    io.stderr(`nsd web: ${e instanceof Error ? e.message : String(e)}\n`);
  }
  io.stderr(`nsd web: the session ended; ${opts.linger === null ? 'serving the last state until interrupted' : `serving the last state for ${opts.linger}s`}\n`);
  await linger(opts.linger);
  await live.close();
  return status;
}

function nonNegative(name: string) {
  return (v: string): number => {
    if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`${name} must be a non-negative integer`);
    return Number(v);
  };
}

export function addWebCommands(program: Command): void {
  program
    .command('web')
    .description('run CMD (default: a small IPC and pipes workload) in a fresh kernel and show it live in a browser (docs/web.md)')
    .argument('[cmd...]', 'command line to run (after --)')
    .option('--port <n>', 'port on 127.0.0.1 (default: a free one)', nonNegative('--port'))
    .option('--linger <seconds>', 'after the session ends, keep serving this long (default: until interrupted)', nonNegative('--linger'))
    .option('--profile <name>', 'kernel profile (linux-6 or linux-2.6.26)', 'linux-6')
    .action(async (cmd: string[], o: { port?: number; linger?: number; profile: string }) => {
      if (o.profile !== 'linux-6' && o.profile !== 'linux-2.6.26') {
        process.stderr.write(`nsd web: unknown profile '${o.profile}' (expected linux-6 or linux-2.6.26)\n`);
        process.exitCode = 2;
        return;
      }
      const argv = cmd.length ? ['/bin/sh', '-c', cmd.map((a) => (/^[\w./=:@%+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ')] : ['/bin/sh', '-c', WEB_DEFAULT_SCRIPT];
      process.exitCode = await runWebSession(argv, { port: o.port, linger: o.linger ?? null, profile: o.profile });
    });
}
