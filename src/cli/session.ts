/**
 * A session: a fresh kernel with the userland installed, the host console attached, and init
 * running one program (the shell). Used by the `nsd` command and by tests (in-process, with
 * captured output).
 *
 * The console. `/dev/console` reads from the session's input queue (host stdin, or the lines an
 * interactive readline produced) and writes to `stdout`; `/dev/hosterr` writes to `stderr`. init's
 * fds 0/1 are the console and 2 is /dev/hosterr; every process inherits them. A console read with
 * no input queued sleeps on `dev:console` until `input()` or `endInput()` wakes it.
 *
 * Running. `runSlice` runs the scheduler until the session program is done, nothing is runnable,
 * or the step budget is spent, and says which: the caller then waits for host input, lets virtual
 * time jump to the next deadline (`advance`), or follows wall-clock time (interactive).
 */
import { Kernel } from '../syscalls/scheduler.js';
import type { KernelState } from '../kernel/state.js';
import type { ProfileName } from '../kernel/profile.js';
import { newInode, link, resolve } from '../kernel/fs/vfs.js';
import { O_RDWR, O_WRONLY } from '../abi/constants.js';
import { installUserland, sessionStatus, INIT_PATH } from '../userland/index.js';
import { exitCodeOf } from '../userland/lib/process.js';
import { installCr } from '../cr/tool.js';
import type { ProgramDef } from '../syscalls/program.js';

export interface SessionOptions {
  profile?: ProfileName;
  seed?: number;
  /** Receives the model's console output. */
  stdout: (bytes: Uint8Array) => void;
  stderr: (bytes: Uint8Array) => void;
  /** strace-like lines of every syscall. */
  trace?: (line: string) => void;
  /** Programs to install (each at its name) beside the userland and /sbin/cr. */
  programs?: readonly ProgramDef<unknown>[];
}

export type SliceResult =
  /** The session program has exited (see `status`). */
  | 'done'
  /** Steps remain to run (the budget ran out). */
  | 'busy'
  /** Nothing runs until console input arrives. */
  | 'input'
  /** Nothing runs until virtual time reaches `nextDeadline()`. */
  | 'timer'
  /** Everything sleeps and nothing can wake it. */
  | 'stuck';

export class Session {
  readonly kernel: Kernel;
  private queue: Uint8Array[] = [];
  private eof = false;

  constructor(opts: SessionOptions) {
    const k = new Kernel({ profile: opts.profile ?? 'linux-6', seed: opts.seed ?? 0 });
    this.kernel = k;
    if (opts.trace) k.tracer = opts.trace;
    k.devices.set('console', {
      read: (_k, count) => this.readConsole(count),
      write: (_k, bytes) => {
        opts.stdout(bytes);
        return bytes.length;
      },
    });
    k.devices.set('hosterr', {
      write: (_k, bytes) => {
        opts.stderr(bytes);
        return bytes.length;
      },
    });
    installUserland(k);
    installCr(k); // /sbin/cr, and the nsd_cr engine it works through
    for (const p of opts.programs ?? []) k.installProgram(p);
    const init = k.t(k.init.kid);
    const { node } = resolve(k, init, '/dev');
    if (node.kind === 'vfs') {
      const dev = k.inode(node.ino);
      const n = newInode(k, 'chr', 0o620, 0, 0);
      n.dev = 'hosterr';
      link(k, dev, 'hosterr', n);
    }
  }

  /** Starts init running `argv` (e.g. `['/bin/sh', '-c', 'echo hi']`). */
  start(argv: string[], env: string[] = defaultEnv()): void {
    const sys = this.kernel.init.sys;
    sys.open('/dev/console', O_RDWR);
    sys.dup(0);
    sys.open('/dev/hosterr', O_WRONLY);
    sys.execve(INIT_PATH, ['init', ...argv], env);
  }

  /** Queues console input and wakes readers. */
  input(data: string | Uint8Array): void {
    this.queue.push(typeof data === 'string' ? new TextEncoder().encode(data) : data);
    this.kernel.wake('dev:console');
  }

  /** No more console input: readers get end-of-file once the queue is drained. */
  endInput(): void {
    this.eof = true;
    this.kernel.wake('dev:console');
  }

  private readConsole(count: number): Uint8Array | null {
    const head = this.queue[0];
    if (!head) return this.eof ? new Uint8Array(0) : null;
    if (head.length <= count) {
      this.queue.shift();
      return head;
    }
    this.queue[0] = head.subarray(count);
    return head.subarray(0, count);
  }

  /** The session program's wait status once it has exited, else null. */
  get waitStatus(): number | null {
    return sessionStatus(this.kernel);
  }

  /** Its exit status (128 + signal when killed), or null while it runs. */
  get status(): number | null {
    const w = this.waitStatus;
    return w === null ? null : exitCodeOf(w);
  }

  runSlice(maxSteps = 20000): SliceResult {
    const k = this.kernel;
    k.run({ maxSteps, until: () => this.waitStatus !== null || k.s.runq.length === 0 });
    if (this.waitStatus !== null) return 'done';
    if (k.s.runq.length > 0) return 'busy';
    if (k.nextDeadline() !== null) return 'timer';
    if (k.sleepers('dev:console').length > 0 && !this.eof) return 'input';
    return 'stuck';
  }

  /** Lets virtual time jump to the next deadline. */
  advance(): void {
    const d = this.kernel.nextDeadline();
    if (d !== null) this.kernel.advanceTo(d);
  }

  /** Runs to the end without waiting for anything (input ends now; timers jump). Returns the status. */
  runToEnd(maxSlices = 10000): number {
    this.endInput();
    for (let i = 0; i < maxSlices; i++) {
      const r = this.runSlice();
      if (r === 'done') return this.status!;
      if (r === 'timer') this.advance();
      else if (r === 'stuck' || r === 'input') throw new Error('session stuck: every task sleeps and nothing can wake it');
    }
    throw new Error('session did not finish');
  }

  /** The kernel's state (plain data), for inspection. */
  get state(): KernelState {
    return this.kernel.s;
  }
}

export function defaultEnv(): string[] {
  return ['PATH=/bin:/sbin:/usr/bin', 'HOME=/root', 'TERM=dumb', 'SHELL=/bin/sh', 'USER=root', 'LOGNAME=root'];
}

/** Runs `sh -c CMDS` in a fresh session and captures its output (tests, the demo). */
export function runShell(cmds: string, opts: Partial<SessionOptions> & { input?: string } = {}): { status: number; stdout: string; stderr: string } {
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  const s = new Session({ ...opts, stdout: (b) => out.push(b.slice()), stderr: (b) => err.push(b.slice()) });
  s.start(['/bin/sh', '-c', cmds]);
  if (opts.input) s.input(opts.input);
  const status = s.runToEnd();
  const dec = (chunks: Uint8Array[]) => Buffer.concat(chunks).toString('utf8');
  return { status, stdout: dec(out), stderr: dec(err) };
}
