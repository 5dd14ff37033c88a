/**
 * The initial namespace's init exiting is a kernel panic (kernel/exit.c do_exit: "Attempted to kill
 * init! exitcode=0x…"): the state stays consistent (init keeps pid 1, nothing torn down), `panicked`
 * says why, and every later syscall, memory access and `run()` fails with KernelPanic (an ErrnoError,
 * EIO) instead of crashing the caller.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrnoError, Kernel, KernelPanic, constants as C } from '../../src/index.js';
import { defineBareProgram } from '../../src/syscalls/program.js';
import { danglingIds } from '../../fuzz/campaigns/syscalls.js';
import { PROFILES, boot } from '../helpers.js';

function expectPanic(fn: () => unknown, why: RegExp): KernelPanic {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof KernelPanic, `expected KernelPanic, got ${(e as Error)?.stack ?? e}`);
    assert.ok(e instanceof ErrnoError);
    assert.equal(e.code, 'EIO');
    assert.match(e.message, why);
    return e;
  }
  assert.fail('expected a kernel panic');
}

for (const profile of PROFILES) {
  test(`init exiting with children and grandchildren panics, state kept (${profile})`, () => {
    const k = boot(profile);
    const init = k.init;
    const child = k.task(init.sys.fork())!;
    const grand = k.task(child.sys.fork())!;
    child.sys.exit_group(0); // a zombie child of init, and an orphan reparented to init
    const before = k.s.tasks.size;
    expectPanic(() => init.sys.exit_group(3), /Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000300/);
    assert.equal(k.panicked, true);
    assert.match(k.s.panicked!, /Attempted to kill init!/);
    // Nothing torn down: init still holds pid 1 and is not a zombie; the others are where they were.
    assert.equal(k.s.tasks.size, before);
    assert.equal(k.pidNs(k.s.rootPidNs).reaper, init.kid);
    assert.equal(k.t(init.kid).state, 'running');
    assert.equal(k.proc(grand.kid).parent, init.kid);
    // Every later call fails clearly; so do memory access and run().
    expectPanic(() => grand.sys.getpid(), /getpid.*Attempted to kill init!/);
    expectPanic(() => init.sys.fork(), /Attempted to kill init!/);
    expectPanic(() => grand.memory.read(0, 1), /memory\.read/);
    expectPanic(() => k.run(), /Attempted to kill init!/);
    // The state is plain data, every id resolves: a snapshot round-trips and stays panicked.
    assert.deepEqual(danglingIds(k.snapshot()), []);
    const k2 = Kernel.fromState(k.snapshot(), { programs: k.programs.values() });
    assert.equal(k2.panicked, true);
    expectPanic(() => k2.task(grand.kid)!.sys.getppid(), /Attempted to kill init!/);
  });
}

test('init exiting through a fatal signal or exit(): the exit code is the wait status', () => {
  const k = boot();
  expectPanic(() => k.init.sys.exit(1), /exitcode=0x00000100/);
  const k2 = boot();
  const t = k2.task(k2.init.sys.fork())!;
  // Init ignores SIGKILL from inside its namespace: no panic.
  t.sys.kill(1, C.SIGKILL);
  assert.equal(k2.panicked, false);
  assert.equal(k2.init.alive, true);
});

test('init running a program that exits: run() throws KernelPanic, the program sees nothing', () => {
  const k = boot();
  const prog = defineBareProgram<{ n: number }>({
    name: '/bin/panic-test',
    start: () => ({ n: 0 }),
    step: (ctx) => (ctx.state.n++ < 2 ? { call: 'getpid' } : { exit: 7 }),
  });
  k.installProgram(prog);
  k.init.sys.execve('/bin/panic-test', ['panic-test']);
  expectPanic(() => k.run(), /exitcode=0x00000700/);
  assert.equal(k.panicked, true);
  assert.deepEqual(danglingIds(k.snapshot()), []);
  expectPanic(() => k.run(), /Attempted to kill init!/);
});

test("a thread of init: exit() ends only the thread; exit_group() kills init's group and panics", () => {
  const k = boot();
  const flags = C.CLONE_VM | C.CLONE_FS | C.CLONE_FILES | C.CLONE_SIGHAND | C.CLONE_THREAD;
  const t1 = k.task(k.init.sys.clone(flags))!;
  t1.sys.exit(0);
  assert.equal(k.panicked, false, 'one thread of init exiting is not init exiting');
  assert.equal(k.init.alive, true);
  const t2 = k.task(k.init.sys.clone(flags))!;
  // do_group_exit from any thread takes the whole group down; the group of init dying panics (do_exit).
  expectPanic(() => t2.sys.exit_group(5), /Attempted to kill init! exitcode=0x00000500/);
  assert.deepEqual(danglingIds(k.snapshot()), []);
});
