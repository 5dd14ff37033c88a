/**
 * rt_sigsuspend (kernel/signal.c sigsuspend), interrupted sleeps writing back the time left
 * (kernel/time/hrtimer.c do_nanosleep / hrtimer_nanosleep), and the monotonic clocks counting
 * from boot.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Kernel, WouldBlockError, defineProgram, constants as C, SIG_HANDLER, CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_BOOTTIME,
  CLOCK_TAI, CLOCK_MONOTONIC_RAW, CLOCK_MONOTONIC_COARSE, CLOCK_REALTIME_COARSE, dump, restore, type Task,
} from '../../src/index.js';
import { TIMER_ABSTIME } from '../../src/syscalls/core.js';
import { expectErrno } from '../helpers.js';

const bit = (sig: number): bigint => 1n << BigInt(sig - 1);

interface Suspender { pc: number; log: string[] }

/**
 * Handles SIGUSR1 and SIGUSR2, blocks SIGUSR1, then waits in rt_sigsuspend with a mask that blocks
 * SIGUSR2 instead. Logs what each step sees: the result, the signals its handlers got, its mask.
 */
const suspender = defineProgram<Suspender>({
  name: '/bin/suspender',
  start: () => ({ pc: 0, log: [] }),
  step(p) {
    const s = p.state;
    const mask = () => p.sys.rt_sigprocmask(C.SIG_BLOCK, null);
    if (s.pc > 0) s.log.push(`${s.pc}: ${p.result === null ? '-' : p.ok ? `ok ${String(p.value())}` : p.errno} [${p.signals.join(',')}] mask=${mask().toString(16)}`);
    switch (s.pc++) {
      case 0:
        p.sys.rt_sigaction(C.SIGUSR1, SIG_HANDLER);
        p.sys.rt_sigaction(C.SIGUSR2, SIG_HANDLER);
        p.sys.rt_sigprocmask(C.SIG_SETMASK, bit(C.SIGUSR1));
        return p.call('rt_sigsuspend', bit(C.SIGUSR2));
      case 1:
        return undefined; // one more step: the SIGUSR2 left pending under the suspend mask comes now
      default:
        return p.exit(0);
    }
  },
  result: (s) => s.log,
});

function startSuspender(k: Kernel): Task {
  k.installProgram(suspender);
  const t = k.spawn('/bin/suspender');
  k.run();
  return t;
}

test('rt_sigsuspend: the mask is replaced while parked, EINTR after the handler ran, then the saved mask is back', () => {
  const k = new Kernel();
  const t = startSuspender(k);
  assert.equal(t.status, 'sleeping');
  assert.equal(t.sleepingIn?.syscall, 'rt_sigsuspend');
  assert.equal(t.state.sigmask, bit(C.SIGUSR2), 'the suspend mask replaced the mask');
  assert.equal(t.state.savedSigmask, bit(C.SIGUSR1), 'the caller\'s mask is kept as plain data');
  // SIGUSR2 is blocked by the suspend mask: it stays pending and the task sleeps on.
  k.init.sys.kill(t.pid, C.SIGUSR2);
  k.run();
  assert.equal(t.status, 'sleeping');
  // A snapshot while parked resumes identically.
  const copy = Kernel.fromState(k.snapshot(), { programs: k.programs.values() });
  for (const kk of [k, copy]) {
    const tt = kk.task(t.pid)!;
    kk.init.sys.kill(tt.pid, C.SIGUSR1);
    kk.run();
    assert.equal(tt.exit?.code, 0);
    assert.deepEqual(tt.exit?.result, [
      // The handler for SIGUSR1 ran (under the suspend mask), the call failed with EINTR, and the
      // step sees the saved mask again.
      `1: EINTR [${C.SIGUSR1}] mask=${bit(C.SIGUSR1).toString(16)}`,
      // SIGUSR2, unblocked by the restored mask, reaches its handler at the next step.
      `2: - [${C.SIGUSR2}] mask=${bit(C.SIGUSR1).toString(16)}`,
    ]);
  }
  assert.deepEqual(copy.snapshot(), k.snapshot());
});

test('rt_sigsuspend survives dump and restore: the restored task waits under the suspend mask and gets its own mask back', () => {
  const k = new Kernel();
  k.installProgram(suspender);
  const c = k.task(k.init.sys.clone(C.CLONE_NEWPID | C.CLONE_NEWIPC | C.SIGCHLD))!;
  c.sys.execve('/bin/suspender', ['suspender']);
  k.run({ until: () => c.status === 'sleeping' });
  const { images } = dump(k, c.pid);
  k.init.sys.wait4(c.pid, 0);
  const back = restore(k, images, { strategy: 'nsd' }).tasks.get(1)!;
  assert.equal(back.sleepingIn?.syscall, 'rt_sigsuspend');
  assert.equal(back.state.sigmask, bit(C.SIGUSR2));
  assert.equal(back.state.savedSigmask, bit(C.SIGUSR1));
  k.init.sys.kill(back.pid, C.SIGUSR1);
  k.run();
  assert.deepEqual((back.exit?.result as string[])[0], `1: EINTR [${C.SIGUSR1}] mask=${bit(C.SIGUSR1).toString(16)}`);
});

test('rt_sigsuspend: a signal already pending and let through by the new mask ends it at once; SIGKILL and SIGSTOP stay unblocked', () => {
  const k = new Kernel();
  k.installProgram(suspender);
  const t = k.spawn('/bin/suspender');
  // SIGUSR1 arrives before the first step (blocked then, by the program's own mask: pending).
  t.sys.rt_sigprocmask(C.SIG_SETMASK, bit(C.SIGUSR1));
  k.init.sys.kill(t.pid, C.SIGUSR1);
  k.run();
  assert.equal(t.exit?.code, 0);
  assert.equal((t.exit?.result as string[])[0], `1: EINTR [${C.SIGUSR1}] mask=${bit(C.SIGUSR1).toString(16)}`);

  // Every bit set: SIGKILL and SIGSTOP are still not blocked (set_current_blocked), and SIGKILL kills.
  const k2 = new Kernel();
  const child = k2.task(k2.init.sys.fork())!;
  k2.installProgram(defineProgram<null>({ name: '/bin/all', start: () => null, step: (p) => p.call('rt_sigsuspend', (1n << 64n) - 1n) }));
  child.sys.execve('/bin/all', ['all']);
  k2.run();
  assert.equal(child.state.sigmask, ((1n << 64n) - 1n) & ~(bit(C.SIGKILL) | bit(C.SIGSTOP)));
  k2.init.sys.kill(child.pid, C.SIGKILL);
  k2.run();
  assert.equal(child.exit?.signal, C.SIGKILL);
});

test('rt_sigsuspend as a direct call: WouldBlockError and the mask unchanged; a bad mask is EFAULT', () => {
  const k = new Kernel();
  const sys = k.init.sys;
  sys.rt_sigprocmask(C.SIG_SETMASK, bit(C.SIGUSR1));
  assert.throws(() => sys.rt_sigsuspend(0n), WouldBlockError);
  assert.equal(k.init.state.sigmask, bit(C.SIGUSR1));
  assert.equal(k.init.state.savedSigmask, null);
  expectErrno(() => sys.call('rt_sigsuspend', 5), 'EFAULT');
  assert.equal(k.init.state.sigmask, bit(C.SIGUSR1));
});

interface Sleeper { pc: number; outcome: unknown[] }

/** Makes one sleeping call given in argv (JSON), with a SIGUSR1 handler; records the outcome. */
const sleeper = defineProgram<Sleeper>({
  name: '/bin/sleeper',
  start: () => ({ pc: 0, outcome: [] }),
  step(p) {
    const s = p.state;
    if (s.pc++ === 0) {
      p.sys.rt_sigaction(C.SIGUSR1, SIG_HANDLER);
      const [name, ...args] = JSON.parse(p.argv[1]!) as [string, ...unknown[]];
      return p.call(name, ...args);
    }
    s.outcome = [p.ok ? 'ok' : p.errno, p.writtenBack ?? null, p.signals];
    return p.exit(0);
  },
  result: (s) => s.outcome,
});

/** Runs `call` in a sleeper, sends SIGUSR1 after `afterNs`; returns the outcome and the time left then. */
function interrupt(call: unknown[], afterNs: number): { outcome: unknown; left: number } {
  const k = new Kernel({ bootTime: 1000 });
  k.installProgram(sleeper);
  const t = k.spawn('/bin/sleeper', ['sleeper', JSON.stringify(call)]);
  k.run({ until: () => t.status === 'sleeping' });
  assert.equal(t.status, 'sleeping');
  k.advance(afterNs);
  const left = t.state.blocked!.deadlineNs! - k.s.clockNs;
  k.init.sys.kill(t.pid, C.SIGUSR1);
  k.run();
  return { outcome: t.exit?.result, left };
}

test('nanosleep interrupted by a handled signal: EINTR, and the nanoseconds left written back', () => {
  const { outcome, left } = interrupt(['nanosleep', 5e9], 2e9);
  assert.ok(left > 2.9e9 && left <= 3e9, `about 3 s left (${left})`);
  assert.deepEqual(outcome, ['EINTR', left, [C.SIGUSR1]]);
});

test('clock_nanosleep interrupted: a relative sleep writes back a timespec of the time left; TIMER_ABSTIME writes nothing', () => {
  const rel = interrupt(['clock_nanosleep', CLOCK_MONOTONIC, 0, { tv_sec: 10, tv_nsec: 250 }], 4e9);
  assert.deepEqual(rel.outcome, ['EINTR', { tv_sec: Math.floor(rel.left / 1e9), tv_nsec: rel.left % 1e9 }, [C.SIGUSR1]]);
  assert.equal(Math.floor(rel.left / 1e9), 6);
  const abs = interrupt(['clock_nanosleep', CLOCK_MONOTONIC, TIMER_ABSTIME, { tv_sec: 10, tv_nsec: 0 }], 4e9);
  assert.deepEqual(abs.outcome, ['EINTR', null, [C.SIGUSR1]]);
  // A sleep the signal does not interrupt (blocked, or not handled and ignored) just ends: 0.
  const k = new Kernel();
  k.installProgram(sleeper);
  const t = k.spawn('/bin/sleeper', ['sleeper', JSON.stringify(['nanosleep', 1e9])]);
  k.run({ until: () => t.status === 'sleeping' });
  k.init.sys.kill(t.pid, C.SIGCHLD);
  k.run();
  assert.deepEqual(t.exit?.result, ['ok', null, []]);
});

test('CLOCK_MONOTONIC counts from boot and CLOCK_REALTIME from the epoch; absolute sleeps use their own clock', () => {
  const k = new Kernel({ bootTime: 1000 });
  const sys = k.init.sys;
  k.advance(2_500_000_123);
  for (const c of [CLOCK_REALTIME, CLOCK_REALTIME_COARSE, CLOCK_TAI]) assert.deepEqual(sys.clock_gettime(c), { tv_sec: 1002, tv_nsec: 500_000_123 }, `clock ${c}`);
  for (const c of [CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW, CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME]) assert.deepEqual(sys.clock_gettime(c), { tv_sec: 2, tv_nsec: 500_000_123 }, `clock ${c}`);
  // The boot time is state: a resumed kernel's monotonic clock goes on from where it was.
  const k2 = Kernel.fromState(k.snapshot());
  assert.deepEqual(k2.init.sys.clock_gettime(CLOCK_MONOTONIC), { tv_sec: 2, tv_nsec: 500_000_123 });
  // An absolute monotonic deadline of 5 s is 5 s after boot; an absolute realtime one of 5 s is long past.
  k.installProgram(sleeper);
  const mono = k.spawn('/bin/sleeper', ['sleeper', JSON.stringify(['clock_nanosleep', CLOCK_MONOTONIC, TIMER_ABSTIME, { tv_sec: 5, tv_nsec: 0 }])]);
  k.run({ until: () => mono.status === 'sleeping' });
  assert.equal(mono.state.blocked!.deadlineNs, 1005e9);
  k.run();
  assert.deepEqual(mono.exit?.result, ['ok', null, []]);
  assert.ok(k.s.clockNs >= 1005e9);
  const real = k.spawn('/bin/sleeper', ['sleeper', JSON.stringify(['clock_nanosleep', CLOCK_REALTIME, TIMER_ABSTIME, { tv_sec: 5, tv_nsec: 0 }])]);
  const before = k.s.clockNs;
  k.run();
  assert.deepEqual(real.exit?.result, ['ok', null, []]);
  assert.ok(k.s.clockNs - before < 1e6, 'returned at once');
});
