/**
 * Property: the kernel's state is the whole truth about who wakes first. A random multi-task
 * workload that sleeps on pipes, a SysV message queue (receivers and, on a small queue, senders),
 * a semaphore (semop and semtimedop), wait4 and nanosleep (timers whose deadlines often coincide)
 * is run once without a break, and once copied with `Kernel.fromState(k.snapshot(), { programs: k.programs.values() })` at a random
 * step and finished in the copy. Both must complete the same calls in the same order (the output
 * log), make the same syscalls (the trace) and end in the same state.
 *
 * This fails when the derived wait queues and timers are rebuilt in task-id order instead of sleep
 * order (`BlockState.seq`): a reader woken second would read first, a timer armed second would fire
 * first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { constants as C, Kernel, type SysResult } from '../../src/index.js';
import { defineBareProgram } from '../../src/syscalls/program.js';
import { STEP_NS } from '../../src/kernel/core.js';
import { readFile } from '../helpers.js';

const dec = new TextDecoder();

interface WorkerArgs {
  pr: number;
  pw: number;
  q: number;
  sem: number;
  ops: string[];
}

interface WorkerState extends WorkerArgs {
  i: number;
  /** The op whose result the next step receives, or '' */
  pending: string;
}

function show(r: SysResult | null): string {
  if (!r) return '-';
  if (!r.ok) return r.code;
  const v = r.value;
  if (v instanceof Uint8Array) return JSON.stringify(dec.decode(v));
  if (v === null || typeof v !== 'object') return String(v);
  const o = v as { mtype?: unknown; mtext?: Uint8Array; pid?: unknown; status?: unknown };
  if (o.mtext) return `${String(o.mtype)}:${dec.decode(o.mtext)}`;
  if (o.pid !== undefined) return `pid ${String(o.pid)} status ${String(o.status)}`;
  return JSON.stringify(v);
}

/**
 * One op a step: `s<n>` nanosleep n steps, `r` read a byte from the pipe, `w<c>` write one,
 * `R<t>` msgrcv type t, `S<t>` msgsnd type t, `P`/`V` semop -1/+1, `T<n>` semtimedop -1 with an
 * n-step timeout, `f<n>` fork a child that sleeps n steps and exits with n, `W` wait4(-1).
 * Each completed op is logged as `<pid> <op> <result>`.
 */
const worker = defineBareProgram<WorkerState>({
  name: '/bin/wake-order-worker',
  start: (ctx) => ({ ...(JSON.parse(ctx.argv[1]!) as WorkerArgs), i: 0, pending: '' }),
  step(ctx) {
    const s = ctx.state;
    if (s.pending) {
      const pid = ctx.sys.getpid();
      ctx.sys.write(1, `${pid} ${s.pending} ${show(ctx.result)}\n`);
      if (s.pending[0] === 'f' && ctx.result?.ok && ctx.result.value === 0) {
        // The child: sleep, then exit with the number.
        s.ops = [`s${s.pending.slice(1)}`, `x${s.pending.slice(1)}`];
        s.i = 0;
      }
      s.pending = '';
    }
    const op = s.ops[s.i++];
    if (op === undefined) return { exit: 0 };
    const n = Number(op.slice(1));
    s.pending = op;
    switch (op[0]) {
      case 's':
        return { call: 'nanosleep', args: [n * STEP_NS] };
      case 'r':
        return { call: 'read', args: [s.pr, 1] };
      case 'w':
        return { call: 'write', args: [s.pw, op.slice(1)] };
      case 'R':
        return { call: 'msgrcv', args: [s.q, 16, n, 0] };
      case 'S':
        return { call: 'msgsnd', args: [s.q, n, `m${ctx.sys.getpid()}.${s.i}`, 0] };
      case 'P':
      case 'V':
        return { call: 'semop', args: [s.sem, [{ sem_num: 0, sem_op: op === 'P' ? -1 : 1, sem_flg: 0 }]] };
      case 'T':
        return { call: 'semtimedop', args: [s.sem, [{ sem_num: 0, sem_op: -1, sem_flg: 0 }], { tv_sec: 0, tv_nsec: n * STEP_NS }] };
      case 'f':
        return { call: 'fork' };
      case 'W':
        return { call: 'wait4', args: [-1, 0] };
      case 'x':
        return { exit: n };
    }
    throw new Error(`bad op ${op}`);
  },
});

const op: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 4 }).map((n) => `s${n}`) },
  { weight: 3, arbitrary: fc.constant('r') },
  { weight: 2, arbitrary: fc.constantFrom('wa', 'wb', 'wc') },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 2 }).map((t) => `R${t}`) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 2 }).map((t) => `S${t}`) },
  { weight: 2, arbitrary: fc.constantFrom('P', 'V') },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 4 }).map((n) => `T${n}`) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }).map((n) => `f${n}`) },
  { weight: 1, arbitrary: fc.constant('W') },
);

const workload = fc.record({
  scripts: fc.array(fc.array(op, { minLength: 1, maxLength: 8 }), { minLength: 2, maxLength: 5 }),
  seed: fc.integer({ min: 0, max: 1000 }),
  cut: fc.integer({ min: 1, max: 120 }),
});

/** Boots a kernel with the shared objects and one process per script, ready to run. */
function setUp(scripts: string[][], seed: number, trace: string[]): Kernel {
  const k = new Kernel({ seed });
  k.installProgram(worker);
  k.tracer = (l) => trace.push(l);
  const sys = k.init.sys;
  // fds 0-2 first, so the pipe's and the log's fds are not the stdout each worker gets.
  for (let fd = 0; fd < 3; fd++) sys.open('/dev/null', C.O_RDWR);
  const [pr, pw] = sys.pipe2(0) as [number, number];
  const q = sys.msgget(C.IPC_PRIVATE, C.IPC_CREAT | 0o600);
  // Room for two messages (each `m<pid>.<i>` is 4 or 5 bytes): senders sleep too.
  sys.msgctl(q, C.IPC_SET, { msg_perm: { uid: 0, gid: 0, mode: 0o600 }, msg_qbytes: 10 });
  const sem = sys.semget(C.IPC_PRIVATE, 1, C.IPC_CREAT | 0o600);
  const out = sys.open('/tmp/out', C.O_WRONLY | C.O_CREAT | C.O_TRUNC | C.O_APPEND, 0o644);
  for (const ops of scripts) {
    const pid = sys.fork();
    const t = k.task(pid)!;
    t.sys.dup2(out, 1);
    const args: WorkerArgs = { pr, pw, q, sem, ops };
    t.sys.execve(worker.name, [worker.name, JSON.stringify(args)]);
  }
  return k;
}

const MAX_STEPS = 2000;

test('wake order survives a snapshot: Kernel.fromState at any step finishes exactly as the uninterrupted run', () => {
  let cutWhileAsleep = 0;
  fc.assert(
    fc.property(workload, ({ scripts, seed, cut }) => {
      const whole: string[] = [];
      const a = setUp(scripts, seed, whole);
      a.run({ maxSteps: MAX_STEPS });

      const split: string[] = [];
      const b = setUp(scripts, seed, split);
      const first = b.run({ maxSteps: cut });
      if ([...b.s.tasks.values()].filter((t) => t.state === 'blocked').length > 1) cutWhileAsleep++;
      const c = Kernel.fromState(b.snapshot(), { programs: b.programs.values() });
      c.tracer = (l) => split.push(l);
      c.run({ maxSteps: MAX_STEPS - first.steps });

      assert.equal(readFile(c.init, '/tmp/out'), readFile(a.init, '/tmp/out'), 'completion order (the log)');
      assert.deepEqual(split, whole, 'syscall trace');
      assert.deepEqual(c.snapshot(), a.snapshot(), 'final state');
    }),
    { seed: 0x14a1, numRuns: 150 },
  );
  // The property is only worth something if copies were taken with several tasks asleep.
  assert.ok(cutWhileAsleep > 30, `only ${cutWhileAsleep} cuts had two or more sleepers`);
});
