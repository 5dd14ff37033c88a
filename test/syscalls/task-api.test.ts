/**
 * The library's task API: `task.kernel`, `task.status` and `sleepingIn`, `task.exit` (status and
 * the program's result, kept after reaping), `run({ onStep })`, `advance(ns)`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrnoError, type Task } from '../../src/index.js';
import { defineBareProgram } from '../../src/syscalls/program.js';
import { boot } from '../helpers.js';

// Getters read through functions: assert.equal(x, null) would narrow the property to null for tsc.
const sleeping = (t: Task) => t.sleepingIn;
const exitOf = (t: Task) => t.exit;

interface S {
  pc: number;
  fds: number[];
  got: string;
}

/** Reads one message from a pipe the library writes to, then exits 3 with the text as its result. */
const READER = defineBareProgram<S>({
  name: '/bin/task-api-reader',
  start: () => ({ pc: 0, fds: [], got: '' }),
  step(ctx) {
    const s = ctx.state;
    if (s.pc === 0) {
      s.pc = 1;
      return { call: 'read', args: [0, 16] };
    }
    s.got = new TextDecoder().decode((ctx.result as { ok: true; value: Uint8Array }).value);
    return { exit: 3 };
  },
  result: (s) => s.got,
});

/** A child of init running READER with its stdin the read end of a pipe; `w` is the write end. */
function startReader() {
  const k = boot();
  k.installProgram(READER);
  const [r, w] = k.init.sys.pipe2(0) as [number, number];
  const pid = k.init.sys.fork();
  const t = k.task(pid)!;
  assert.equal(t.status, 'running');
  assert.equal(sleeping(t), null);
  t.sys.dup2(r, 0);
  t.sys.execve('/bin/task-api-reader', ['/bin/task-api-reader']);
  return { k, w, pid, t };
}

test('task.status, sleepingIn and exit follow a program from running to sleeping to reaped', () => {
  const { k, w, pid, t } = startReader();
  assert.equal(t.kernel, k);
  assert.equal(t.program, '/bin/task-api-reader');
  k.run();
  assert.equal(t.status, 'sleeping');
  const sl = sleeping(t)!;
  assert.deepEqual(sl, { syscall: 'read', channel: sl.channel, description: sl.description, deadlineNs: null });
  assert.match(sl.channel, /^pipe:\d+:r$/);
  assert.match(sl.description, /^reading from pipe inode \d+$/);
  assert.equal(t.exit, null);
  k.init.sys.write(w, 'hello');
  k.run();
  assert.equal(t.status, 'zombie');
  assert.deepEqual(t.exit, { status: 3 << 8, code: 3, signal: null, program: '/bin/task-api-reader', result: 'hello' });
  assert.equal(k.init.sys.wait4(pid, 0).status, 3 << 8);
  assert.equal(t.status, 'dead');
  assert.equal(exitOf(t)?.result, 'hello', 'the result outlives reaping');
});

test('a task killed by a signal reports it; a zombie handle made after the exit reads the status', () => {
  const { k, pid: a, t: ta } = startReader();
  k.run();
  k.init.sys.kill(a, 9);
  k.run();
  assert.deepEqual(ta.exit, { status: 9, code: null, signal: 9, program: '/bin/task-api-reader', result: '' });
  const b = k.init.sys.fork();
  k.init.sys.kill(b, 15);
  k.run();
  assert.deepEqual(k.task(b)!.exit, { status: 15, code: null, signal: 15, program: null, result: null });
});

test('run({ onStep }) sees every step and stops when it returns true; advance() moves the clock only forward', () => {
  const { k, w, pid } = startReader();
  k.init.sys.write(w, 'x');
  const seen: Array<[number, string, number]> = [];
  const res = k.run({ onStep: (s) => void seen.push([s.task.pid, s.task.status, s.steps]) });
  assert.deepEqual(seen, [
    [pid, 'running', 1],
    [pid, 'zombie', 2],
  ]);
  assert.deepEqual(res, { steps: 2, reason: 'idle' });
  const stop = k.run({ onStep: () => true });
  assert.deepEqual(stop, { steps: 0, reason: 'idle' });
  const t0 = k.s.clockNs;
  k.advance(5000);
  assert.equal(k.s.clockNs, t0 + 5000);
  assert.throws(() => k.advance(-1), /non-negative integer/);
  assert.throws(() => k.advance(0.5), /non-negative integer/);
});

interface Cat {
  got: number[];
}

/** Reads fd 0 to EOF; its result is the bytes read and its environment. */
const SLURP = defineBareProgram<Cat>({
  name: '/bin/task-api-slurp',
  start: () => ({ got: [] }),
  step(ctx) {
    const r = ctx.result as { ok: true; value: Uint8Array } | null;
    if (r && r.value.length === 0) return { exit: 0 };
    if (r) ctx.state.got.push(...r.value);
    return { call: 'read', args: [0, 5000] };
  },
  result: (s) => s.got,
});

test('spawn() gives a program stdin bytes and a typed environment; a failed spawn leaves no child', () => {
  const k = boot();
  k.installProgram(SLURP);
  const bytes = new Uint8Array(70000).map((_, i) => (i * 7) & 0xff); // more than a pipe holds
  const t = k.spawn('/bin/task-api-slurp', ['slurp'], { stdin: bytes, env: { N: 3, ON: true, NAME: 'x=y', BIG: 2n ** 64n } });
  assert.deepEqual(t.state.prog!.envp, ['N=3', 'ON=true', 'NAME=x=y', 'BIG=18446744073709551616']);
  assert.deepEqual(t.state.prog!.argv, ['slurp']);
  k.run();
  assert.equal(t.exit?.code, 0);
  assert.deepEqual(t.exit?.result, [...bytes]);
  const before = [...k.s.tasks.keys()];
  assert.throws(() => k.spawn('/bin/no-such', ['x']), (e: unknown) => e instanceof ErrnoError && e.code === 'ENOENT');
  assert.throws(() => k.spawn('/bin/task-api-slurp', ['x'], { env: { 'A=B': 1 } }), (e: unknown) => e instanceof ErrnoError && e.code === 'EINVAL');
  assert.deepEqual([...k.s.tasks.keys()], before, 'no child left behind');
});

test('installing another program under a name taken in the kernel is an error; the same definition again is not', () => {
  const k = boot();
  k.installProgram(SLURP);
  assert.throws(
    () => k.installProgram(defineBareProgram({ name: '/bin/task-api-slurp', start: () => ({}), step: () => ({ exit: 0 }) })),
    /the name "\/bin\/task-api-slurp" is taken in this kernel by another program/,
  );
  k.installProgram(SLURP, '/bin/slurp2');
  // Another kernel has its own table (test/syscalls/programs.test.ts has more).
  boot().installProgram(defineBareProgram({ name: '/bin/task-api-slurp', start: () => ({}), step: () => ({ exit: 0 }) }));
});
