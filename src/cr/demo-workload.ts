/**
 * Design note: the container workload of the `npm start` demo (src/cr/demo.ts), one program
 * (`/bin/cr-demo-job JOBS`) whose processes take roles after fork:
 *   - init (pid 1 of the container) opens the log, creates a message queue, a semaphore set (sem 0
 *     guards the counter, sem 1 counts finished threads) and a shm segment holding the counter,
 *     makes a pipe, forks a producer and two workers, then copies what arrives on the pipe into
 *     the log until every writer is gone, reaps its children and logs the final counter;
 *   - the producer sends JOBS jobs (mtype 1) with a pause between them, then one stop (mtype 2)
 *     per worker thread;
 *   - each worker is two threads taking jobs from the queue; a job is: down(sem 0, SEM_UNDO),
 *     load the counter (process_vm_readv), hold the lock a moment, store counter + 1, report on
 *     the pipe, up(sem 0, SEM_UNDO). On stop, the second thread ups sem 1 and exits; the first
 *     downs sem 1 (waits for it) and ends the process.
 * Every line carries the writer's pid/tid as the container sees them, so a restored run that got
 * other ids, or lost a message or a semaphore value, logs something different.
 */
import {
  CLONE_FILES, CLONE_FS, CLONE_SIGHAND, CLONE_SYSVSEM, CLONE_THREAD, CLONE_VM, IPC_CREAT, O_APPEND, O_CREAT, O_WRONLY, SEM_UNDO, SETVAL,
} from '../abi/constants.js';
import type { MsgBuf } from '../abi/ipc.js';
import { defineProgram, toText, type Proc } from '../userland/lib/program.js';

export const DEMO_JOB_PATH = '/bin/cr-demo-job';
export const DEMO_LOG = '/var/log/cr-demo.log';
export const DEMO_KEY = 0xc0de;
export const DEMO_WORKERS = 2;
const THREADS_PER_WORKER = 2;

interface JobState {
  role: 'init' | 'producer' | 'worker';
  pc: string;
  jobs: number;
  q: number;
  s: number;
  addr: number;
  r: number;
  w: number;
  log: number;
  kids: number;
  /** Producer: jobs and stops sent; init: children reaped. */
  n: number;
  stops: number;
  thread: boolean;
  job: string;
  counter: number;
}

const THREAD = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;

const who = (p: Proc<JobState>): string => `${p.sys.getpid()}/${p.sys.gettid()}`;

function loadCounter(p: Proc<JobState>): number {
  const b = p.sys.process_vm_readv(0, p.state.addr, 4);
  return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
}

function storeCounter(p: Proc<JobState>, v: number): void {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  p.sys.process_vm_writev(0, p.state.addr, b);
}

function semop(p: Proc<JobState>, num: number, op: number, flg = 0) {
  return p.call('semop', p.state.s, [{ sem_num: num, sem_op: op, sem_flg: flg }]);
}

function initStep(p: Proc<JobState>) {
  const s = p.state;
  switch (s.pc) {
    case 'setup':
      s.log = p.sys.open(DEMO_LOG, O_WRONLY | O_CREAT | O_APPEND, 0o644);
      s.q = p.sys.msgget(DEMO_KEY, IPC_CREAT | 0o600);
      s.s = p.sys.semget(DEMO_KEY + 1, 2, IPC_CREAT | 0o600);
      p.sys.semctl(s.s, 0, SETVAL, 1);
      s.addr = p.sys.shmat(p.sys.shmget(DEMO_KEY + 2, 4096, IPC_CREAT | 0o600), 0, 0);
      [s.r, s.w] = p.sys.pipe2(0);
      p.sys.write(s.log, `init ${who(p)}: queue ${s.q}, semaphores ${s.s}, counter at 0x${s.addr.toString(16)}, ${s.jobs} jobs\n`);
      s.pc = 'fork';
      return;
    case 'fork':
      if (s.kids < 1 + DEMO_WORKERS) {
        s.pc = 'forked';
        return p.call('fork');
      }
      p.sys.close(s.w);
      s.pc = 'drain';
      return p.call('read', s.r, 4096);
    case 'forked': {
      if (p.value<number>() === 0) {
        s.role = s.kids === 0 ? 'producer' : 'worker';
        s.pc = 'start';
        p.sys.close(s.r);
        return;
      }
      s.kids++;
      s.pc = 'fork';
      return;
    }
    case 'drain': {
      const b = p.value<Uint8Array>();
      if (b.length > 0) {
        p.sys.write(s.log, b);
        return p.call('read', s.r, 4096);
      }
      s.pc = 'reap';
      return p.call('wait4', -1, 0);
    }
    default:
      if (p.ok && ++s.n < 1 + DEMO_WORKERS) return p.call('wait4', -1, 0);
      p.sys.write(s.log, `init ${who(p)}: counter = ${loadCounter(p)} after ${s.jobs} jobs\n`);
      return p.exit(0);
  }
}

function producerStep(p: Proc<JobState>) {
  const s = p.state;
  if (s.pc === 'pause') {
    s.pc = 'start';
    return p.call('nanosleep', 40e6);
  }
  if (s.n < s.jobs) {
    s.n++;
    s.pc = 'pause';
    return p.call('msgsnd', s.q, 1, `job ${s.n}`, 0);
  }
  if (s.stops < DEMO_WORKERS * THREADS_PER_WORKER) {
    s.stops++;
    return p.call('msgsnd', s.q, 2, 'stop', 0);
  }
  p.write(s.w, `producer ${who(p)}: sent ${s.jobs} jobs\n`);
  return p.exit(0);
}

function workerStep(p: Proc<JobState>) {
  const s = p.state;
  switch (s.pc) {
    case 'start':
      s.pc = 'cloned';
      return p.call('clone', THREAD);
    case 'cloned':
      s.thread = p.value<number>() === 0;
      s.pc = 'recv';
      return p.call('msgrcv', s.q, 64, 0, 0);
    case 'recv': {
      const m = p.value<MsgBuf>();
      if (m.mtype === 2) {
        s.pc = s.thread ? 'thread-done' : 'join';
        return semop(p, 1, s.thread ? 1 : -1);
      }
      s.job = toText(m.mtext);
      s.pc = 'locked';
      return semop(p, 0, -1, SEM_UNDO);
    }
    case 'locked':
      s.counter = loadCounter(p) + 1;
      s.pc = 'store';
      return p.call('nanosleep', 15e6);
    case 'store':
      storeCounter(p, s.counter);
      p.write(s.w, `worker ${who(p)}: ${s.job} -> counter ${s.counter}\n`);
      s.pc = 'unlocked';
      return semop(p, 0, 1, SEM_UNDO);
    case 'unlocked':
      s.pc = 'recv';
      return p.call('msgrcv', s.q, 64, 0, 0);
    case 'thread-done':
      return p.call('exit', 0);
    default:
      p.write(s.w, `worker ${who(p)}: done\n`);
      return p.exit(0);
  }
}

export const DEMO_JOB = defineProgram<JobState>({
  name: DEMO_JOB_PATH,
  start: ({ argv }) => ({
    role: 'init', pc: 'setup', jobs: Number(argv[1] ?? 12), q: -1, s: -1, addr: 0, r: -1, w: -1, log: -1, kids: 0, n: 0, stops: 0,
    thread: false, job: '', counter: 0,
  }),
  step(p) {
    if (p.state.role === 'producer') return producerStep(p);
    if (p.state.role === 'worker') return workerStep(p);
    return initStep(p);
  },
});
