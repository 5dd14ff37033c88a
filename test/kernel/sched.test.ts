/**
 * The scheduler and the program model: real blocking (pipes, wait4, vfork, nanosleep), EINTR by a
 * handled signal, determinism, and resuming from a copied state in the middle of a run (the
 * property checkpoint/restart is built on).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants as C, Kernel } from '../../src/index.js';
import { defineBareProgram } from '../../src/syscalls/program.js';
import { boot } from '../helpers.js';

const dec = new TextDecoder();

interface PipeState {
  pc: string;
  fds: number[];
  n: number;
  got: string;
  child: number;
}

/** A parent that forks a writer child; the writer sends `n` messages, the parent reads them all. */
const pipeDemo = defineBareProgram<PipeState>({
  name: '/bin/pipe-demo',
  start: (ctx) => ({ pc: 'pipe', fds: [], n: Number(ctx.argv[1] ?? 5), got: '', child: 0 }),
  step(ctx) {
    const s = ctx.state;
    switch (s.pc) {
      case 'pipe':
        s.fds = ctx.sys.pipe2(0);
        s.pc = 'forked';
        return { call: 'fork' };
      case 'forked': {
        const pid = ctx.result!.ok ? (ctx.result!.value as number) : -1;
        if (pid === 0) {
          ctx.sys.close(s.fds[0]!);
          s.pc = 'write';
          return undefined;
        }
        s.child = pid;
        ctx.sys.close(s.fds[1]!);
        s.pc = 'read';
        return { call: 'read', args: [s.fds[0], 64] };
      }
      case 'write':
        if (s.n === 0) return { exit: 0 };
        s.n--;
        return { call: 'write', args: [s.fds[1], `m${s.n};`] };
      case 'read': {
        const r = ctx.result!;
        const bytes = r.ok ? (r.value as Uint8Array) : new Uint8Array(0);
        if (bytes.length === 0) {
          s.pc = 'wait';
          return { call: 'wait4', args: [s.child, 0] };
        }
        s.got += dec.decode(bytes);
        return { call: 'read', args: [s.fds[0], 64] };
      }
      case 'wait': {
        const st = (ctx.result as { ok: true; value: { status: number } }).value.status;
        ctx.sys.write(1, `${s.got}|${st}`);
        return { exit: 0 };
      }
    }
    return { exit: 99 };
  },
});

/** Sets up init with fd 1 = a capture file, runs `path argv`, returns what it wrote. */
function runProgram(k: Kernel, argv: string[], steps = 100000): string {
  const init = k.init;
  const pid = init.sys.fork();
  const t = k.task(pid)!;
  const out = t.sys.open('/tmp/out', C.O_WRONLY | C.O_CREAT | C.O_TRUNC, 0o644);
  t.sys.dup2(out, 1);
  t.sys.execve(argv[0]!, argv);
  k.run({ maxSteps: steps });
  return readOut(k);
}

function readOut(k: Kernel): string {
  const fd = k.init.sys.open('/tmp/out', C.O_RDONLY);
  const s = dec.decode(k.init.sys.read(fd, 1 << 20));
  k.init.sys.close(fd);
  return s;
}

test('a reader blocks on an empty pipe and is woken by the writer; EOF at the last close; wait4 sleeps', () => {
  const k = boot();
  k.installProgram(pipeDemo);
  assert.equal(runProgram(k, ['/bin/pipe-demo', '4']), 'm3;m2;m1;m0;|0');
});

test('the scheduler is deterministic: same inputs, same interleaving and clock', () => {
  const a = boot();
  a.installProgram(pipeDemo);
  const b = boot();
  b.installProgram(pipeDemo);
  const lines: string[][] = [[], []];
  a.tracer = (l) => lines[0]!.push(l);
  b.tracer = (l) => lines[1]!.push(l);
  runProgram(a, ['/bin/pipe-demo', '6']);
  runProgram(b, ['/bin/pipe-demo', '6']);
  assert.deepEqual(lines[0], lines[1]);
  assert.equal(a.s.clockNs, b.s.clockNs);
  assert.ok(lines[0]!.some((l) => l.includes('<unfinished ...>')), 'some call really slept');
});

test('state is plain data: a copy taken mid-run resumes to the same result, including parked calls', () => {
  for (let cut = 1; cut < 40; cut += 3) {
    const k = boot();
    k.installProgram(pipeDemo);
    const pid = k.init.sys.fork();
    const t = k.task(pid)!;
    t.sys.dup2(t.sys.open('/tmp/out', C.O_WRONLY | C.O_CREAT | C.O_TRUNC, 0o644), 1);
    t.sys.execve('/bin/pipe-demo', ['/bin/pipe-demo', '5']);
    k.run({ maxSteps: cut });
    const copy = Kernel.fromState(k.snapshot(), { programs: k.programs.values() });
    k.run();
    copy.run();
    assert.equal(readOut(copy), readOut(k), `cut at ${cut}`);
    assert.equal(readOut(k), 'm4;m3;m2;m1;m0;|0');
  }
});

interface SleepState {
  pc: number;
  t0: number;
}

test('nanosleep sleeps in virtual time; a handled signal interrupts a blocked read with EINTR', () => {
  const k = boot();
  const sleeper = defineBareProgram<SleepState>({
    name: '/bin/sleeper',
    start: () => ({ pc: 0, t0: 0 }),
    step(ctx) {
      const s = ctx.state;
      if (s.pc === 0) {
        s.pc = 1;
        ctx.sys.rt_sigaction(C.SIGUSR1, 2);
        return { call: 'nanosleep', args: [5e9] };
      }
      if (s.pc === 1) {
        s.pc = 2;
        const [r] = ctx.sys.pipe2(0);
        // Keep the write end open so the read really blocks.
        return { call: 'read', args: [r, 1] };
      }
      if (s.pc === 2) {
        const r = ctx.result!;
        ctx.sys.write(1, r.ok ? 'read' : r.code);
        ctx.sys.write(1, ctx.signals.includes(C.SIGUSR1) ? '+USR1' : '-');
        return { exit: 0 };
      }
      return undefined;
    },
  });
  k.installProgram(sleeper);
  const pid = k.init.sys.fork();
  const t = k.task(pid)!;
  t.sys.dup2(t.sys.open('/tmp/out', C.O_WRONLY | C.O_CREAT | C.O_TRUNC, 0o644), 1);
  t.sys.execve('/bin/sleeper', ['sleeper']);
  const start = k.s.clockNs;
  k.run();
  assert.ok(k.s.clockNs - start >= 5e9, 'the clock jumped over the sleep');
  assert.equal(t.state.state, 'blocked');
  k.init.sys.kill(pid, C.SIGUSR1);
  k.run();
  assert.equal(readOut(k), 'EINTR+USR1');
});

test('vfork: the parent sleeps until the child execs', () => {
  const k = boot();
  interface V { pc: number; order: string[] }
  const exe = defineBareProgram({ name: '/bin/vfork-child', start: () => ({}), step: (ctx) => (ctx.sys.write(1, 'C'), { exit: 0 }) });
  const vf = defineBareProgram<V>({
    name: '/bin/vforker',
    start: () => ({ pc: 0, order: [] }),
    step(ctx) {
      const s = ctx.state;
      if (s.pc === 0) {
        s.pc = 1;
        return { call: 'vfork' };
      }
      if (s.pc === 1) {
        if (ctx.result!.ok && ctx.result!.value === 0) {
          ctx.sys.write(1, 'c');
          s.pc = 9;
          return { call: 'execve', args: ['/bin/vfork-child', ['c'], []] };
        }
        ctx.sys.write(1, 'P');
        s.pc = 2;
        return { call: 'wait4', args: [-1, 0] };
      }
      return { exit: 0 };
    },
  });
  k.installProgram(exe);
  k.installProgram(vf);
  // The parent prints P only after the child has exec'd (and the exec'd child prints C later).
  assert.equal(runProgram(k, ['/bin/vforker']), 'cPC');
});

test('a thread exiting does not hand its result to the leader (regression: clone result 0 in the leader)', () => {
  const k = boot();
  interface T { pc: number; got: string[] }
  const prog = defineBareProgram<T>({
    name: '/bin/thread-exit',
    start: () => ({ pc: 0, got: [] }),
    step(ctx) {
      const s = ctx.state;
      if (s.pc === -1) return { call: 'exit', args: [0] }; // a thread: exit at once
      if (s.pc > 0) {
        const r = ctx.result!;
        if (r.ok && r.value === 0) {
          s.pc = -1;
          return undefined;
        }
        s.got.push(r.ok ? String(r.value) : r.code);
      }
      if (s.pc === 3) {
        ctx.sys.write(1, s.got.join(','));
        return { exit: 0 };
      }
      s.pc++;
      return { call: 'clone', args: [C.CLONE_VM | C.CLONE_SIGHAND | C.CLONE_THREAD] };
    },
  });
  k.installProgram(prog);
  const out = runProgram(k, ['/bin/thread-exit']);
  assert.match(out, /^\d+,\d+,\d+$/, `the leader saw only tids: ${out}`);
  assert.ok(!out.split(',').includes('0'));
});

interface ReopenState {
  pc: string;
  r: number;
  child: number;
}

/**
 * Reopening through /proc/PID/fd/N: the child opens its parent's pipe read end for reading while
 * the pipe has no writer. An anonymous pipe does not wait for a partner (fifo_open's is_pipe;
 * pipe_rdwr_open in 2.6.26): the open returns at once and the read, made before the parent opens a writer, sees end of file.
 */
const reopenDemo = defineBareProgram<ReopenState>({
  name: '/bin/reopen-demo',
  start: () => ({ pc: 'pipe', r: -1, child: 0 }),
  step(ctx) {
    const s = ctx.state;
    switch (s.pc) {
      case 'pipe': {
        const [r, w] = ctx.sys.pipe2(0);
        ctx.sys.close(w);
        s.r = r;
        s.pc = 'forked';
        return { call: 'fork' };
      }
      case 'forked': {
        const pid = ctx.result!.ok ? (ctx.result!.value as number) : -1;
        if (pid === 0) {
          s.pc = 'child-read';
          return { call: 'open', args: [`/proc/${ctx.sys.getppid()}/fd/${s.r}`, C.O_RDONLY] };
        }
        s.child = pid;
        s.pc = 'parent-open';
        // Let the child run first: its open and read do not wait for the writer.
        return { call: 'sched_yield' };
      }
      case 'child-read': {
        const fd = ctx.result!.ok ? (ctx.result!.value as number) : -1;
        ctx.sys.write(1, `child opened:${fd >= 0};`);
        s.pc = 'child-done';
        return { call: 'read', args: [fd, 10] };
      }
      case 'child-done': {
        const r = ctx.result!;
        ctx.sys.write(1, `child read:${r.ok ? dec.decode(r.value as Uint8Array) : r.code};`);
        return { exit: 0 };
      }
      case 'parent-open': {
        ctx.sys.write(1, 'parent opens writer;');
        const w = ctx.sys.open(`/proc/self/fd/${s.r}`, C.O_WRONLY);
        ctx.sys.write(w, 'x');
        ctx.sys.close(w);
        s.pc = 'wait';
        return { call: 'wait4', args: [s.child, 0] };
      }
      case 'wait':
        return { exit: 0 };
    }
    return { exit: 99 };
  },
});

test('an open of a pipe end through /proc/PID/fd does not wait for the other end (is_pipe): no writer, end of file', () => {
  const k = boot();
  k.installProgram(reopenDemo);
  assert.equal(runProgram(k, ['/bin/reopen-demo']), 'child opened:true;parent opens writer;child read:;');
});
