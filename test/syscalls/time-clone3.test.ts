/** time, gettimeofday, clock_gettime on the model clock; clone3's struct clone_args. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel } from '../../src/syscalls/scheduler.js';
import { WouldBlockError } from '../../src/abi/errno.js';
import { defineBareProgram } from '../../src/syscalls/program.js';
import { SIGCHLD } from '../../src/abi/constants.js';
import * as core from '../../src/syscalls/core.js';
import { expectErrno } from '../helpers.js';


test('time, gettimeofday and the wall/monotonic clocks read the model clock and follow kernel.advance', () => {
  const k = new Kernel({ bootTime: 1000 });
  const sys = k.init.sys;
  k.advance(2_500_000_123);
  assert.equal(sys.time(), 1002);
  assert.deepEqual(sys.gettimeofday(), { tv_sec: 1002, tv_usec: 500_000 });
  for (const c of [core.CLOCK_REALTIME, core.CLOCK_REALTIME_COARSE, core.CLOCK_TAI]) {
    assert.deepEqual(sys.clock_gettime(c), { tv_sec: 1002, tv_nsec: 500_000_123 }, `clock ${c}`);
  }
  // The monotonic clocks count from boot (test/syscalls/sigsuspend-sleep.test.ts has more).
  for (const c of [core.CLOCK_MONOTONIC, core.CLOCK_MONOTONIC_RAW, core.CLOCK_MONOTONIC_COARSE, core.CLOCK_BOOTTIME]) {
    assert.deepEqual(sys.clock_gettime(c), { tv_sec: 2, tv_nsec: 500_000_123 }, `clock ${c}`);
  }
  // No RTC alarm, no CPU-time clocks, unknown ids: EINVAL (clockid_to_kclock / alarm_clock_get_timespec).
  for (const c of [core.CLOCK_REALTIME_ALARM, core.CLOCK_BOOTTIME_ALARM, core.CLOCK_PROCESS_CPUTIME_ID, core.CLOCK_THREAD_CPUTIME_ID, 10, 12, 99, -1]) {
    expectErrno(() => sys.clock_gettime(c), 'EINVAL', `clock ${c}`);
  }
});

test('clone3: struct clone_args fields as copy_clone_args_from_user and clone3_args_valid check them', () => {
  const k = new Kernel();
  const sys = k.init.sys;
  const child = sys.clone3({ exit_signal: SIGCHLD, set_tid: [4000], set_tid_size: 1 });
  assert.equal(child, 4000);
  // set_tid without size, size without set_tid: EINVAL; the array shorter than the size: EFAULT.
  expectErrno(() => sys.clone3({ exit_signal: SIGCHLD, set_tid: [4001], set_tid_size: 0 }), 'EINVAL');
  expectErrno(() => sys.call('clone3', { exit_signal: SIGCHLD, set_tid_size: 1 }), 'EINVAL');
  expectErrno(() => sys.clone3({ exit_signal: SIGCHLD, set_tid: [4001], set_tid_size: 2 }), 'EFAULT');
  expectErrno(() => sys.clone3({ exit_signal: SIGCHLD, set_tid: [4001], set_tid_size: 33 }), 'EINVAL');
  // Only set_tid_size entries are read.
  assert.equal(sys.clone3({ exit_signal: SIGCHLD, set_tid: [4002, 9999], set_tid_size: 1 }), 4002);
  // exit_signal beyond CSIGNAL or not a signal; CSIGNAL bits in flags.
  expectErrno(() => sys.clone3({ exit_signal: 0x100 }), 'EINVAL');
  expectErrno(() => sys.clone3({ exit_signal: 65 }), 'EINVAL');
  expectErrno(() => sys.clone3({ flags: SIGCHLD }), 'EINVAL');
  // A stack needs its size and the reverse (clone3_stack_valid).
  expectErrno(() => sys.clone3({ exit_signal: SIGCHLD, stack: 0x1000 }), 'EINVAL');
  expectErrno(() => sys.clone3({ exit_signal: SIGCHLD, stack_size: 4096 }), 'EINVAL');
  // Fields the model has no place for are refused, not ignored; fields Linux lacks are E2BIG.
  for (const f of ['pidfd', 'child_tid', 'parent_tid', 'tls', 'cgroup']) {
    expectErrno(() => sys.clone3({ exit_signal: SIGCHLD, [f]: 0x1000 }), 'EINVAL', f);
  }
  expectErrno(() => sys.call('clone3', { exit_signal: SIGCHLD, sigmask: 1 }), 'E2BIG');
  expectErrno(() => sys.call('clone3', null), 'EFAULT');
  // Zero-valued fields are as absent.
  assert.ok(sys.clone3({ flags: 0, pidfd: 0, child_tid: 0, parent_tid: 0, exit_signal: SIGCHLD, stack: 0, stack_size: 0, tls: 0, set_tid: null, set_tid_size: 0, cgroup: 0 }) > 0);
});

test('named dispositions: rt_sigaction takes SIG_DFL, SIG_IGN, SIG_HANDLER and returns the old one', () => {
  const k = new Kernel();
  const sys = k.init.sys;
  assert.equal(sys.rt_sigaction(10, core.SIG_HANDLER), core.SIG_DFL);
  assert.equal(sys.rt_sigaction(10, core.SIG_IGN), core.SIG_HANDLER);
  assert.equal(sys.rt_sigaction(10), core.SIG_IGN);
});

const LOG: string[] = [];
interface NapState { pc: number }
const NAPPER = defineBareProgram<NapState>({
  name: '/bin/napper',
  start: () => ({ pc: 0 }),
  step(ctx) {
    const s = ctx.state;
    const now = () => { const ts = ctx.sys.clock_gettime(core.CLOCK_MONOTONIC); return ts.tv_sec * 1e9 + ts.tv_nsec; };
    switch (s.pc++) {
      case 0:
        ctx.sys.rt_sigaction(10, core.SIG_HANDLER);
        LOG.push(`t0 ${now()}`);
        return { call: 'clock_nanosleep', args: [core.CLOCK_MONOTONIC, 0, { tv_sec: 2, tv_nsec: 0 }] };
      case 1: {
        LOG.push(`rel ${ctx.result?.ok} ${now()}`);
        const abs = Math.floor(now() / 1e9) + 3;
        LOG.push(`abs-target ${abs * 1e9}`);
        return { call: 'clock_nanosleep', args: [core.CLOCK_MONOTONIC, core.TIMER_ABSTIME, { tv_sec: abs, tv_nsec: 0 }] };
      }
      case 2:
        LOG.push(`abs ${ctx.result?.ok} ${now()}`);
        return { call: 'pause', args: [] };
      case 3:
        LOG.push(`pause ${ctx.result?.ok ? 'ok' : ctx.result?.code} ${ctx.signals.join(',')}`);
        return { exit: 0 };
      default:
        return { exit: 1 };
    }
  },
});

test('clock_nanosleep sleeps on the model clock, relative and TIMER_ABSTIME; pause sleeps until a handled signal (EINTR)', () => {
  const k = new Kernel();
  k.installProgram(NAPPER);
  const pid = k.init.sys.fork();
  k.task(pid)!.sys.execve('/bin/napper', ['napper']);
  k.run();
  const t0 = Number(LOG[0]!.split(' ')[1]);
  const rel = LOG[1]!.split(' ');
  assert.equal(rel[1], 'true');
  assert.ok(Number(rel[2]) - t0 >= 2e9, 'the relative sleep lasted 2 s of model time');
  const target = Number(LOG[2]!.split(' ')[1]);
  const abs = LOG[3]!.split(' ');
  assert.equal(abs[1], 'true');
  assert.ok(Number(abs[2]) >= target && Number(abs[2]) < target + 1e9, 'woke at the absolute deadline');
  // Paused: nothing wakes it but a signal with a handler.
  assert.equal(k.task(pid)!.state.state, 'blocked');
  k.advance(60e9);
  k.run();
  assert.equal(k.task(pid)!.state.state, 'blocked');
  k.init.sys.kill(pid, 10);
  k.run();
  assert.equal(LOG[4], 'pause EINTR 10');
  // A direct pause would sleep: WouldBlockError, and bad requests fail before sleeping.
  const sys = k.init.sys;
  assert.throws(() => sys.pause(), WouldBlockError);
  expectErrno(() => sys.clock_nanosleep(core.CLOCK_MONOTONIC, 0, { tv_sec: 0, tv_nsec: 1e9 }), 'EINVAL');
  expectErrno(() => sys.clock_nanosleep(core.CLOCK_MONOTONIC, 0, { tv_sec: -1, tv_nsec: 0 }), 'EINVAL');
  expectErrno(() => sys.clock_nanosleep(core.CLOCK_MONOTONIC_RAW, 0, { tv_sec: 1, tv_nsec: 0 }), 'EOPNOTSUPP');
  expectErrno(() => sys.clock_nanosleep(99, 0, { tv_sec: 1, tv_nsec: 0 }), 'EINVAL');
  expectErrno(() => sys.call('clock_nanosleep', core.CLOCK_MONOTONIC, 0, null), 'EFAULT');
  // An absolute deadline already past returns at once.
  assert.equal(sys.clock_nanosleep(core.CLOCK_REALTIME, core.TIMER_ABSTIME, { tv_sec: 1, tv_nsec: 0 }), 0);
});
