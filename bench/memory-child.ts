/**
 * One memory measurement in a clean process (spawned by bench/suites/memory.ts with --expose-gc):
 *
 *   node --expose-gc dist/bench/memory-child.js <unit> <n>
 *
 * Boots a kernel with raised limits, collects garbage, reads process.memoryUsage(), creates `n`
 * units, collects again and reads again. Prints one JSON line with both readings.
 */
import { bootKernel, C, raiseNofile, writeSysctl, type Kernel } from './lib/model.js';

export const UNITS = ['task', 'message', 'msg-queue', 'sem-set', 'shm-segment', 'fd'] as const;
export type Unit = (typeof UNITS)[number];

export interface MemoryReading {
  unit: Unit;
  n: number;
  before: NodeJS.MemoryUsage;
  after: NodeJS.MemoryUsage;
}

const MSG = new Uint8Array(64).fill(0x61);

/** A kernel whose limits allow `n` units (outside the measured part). */
function prepare(unit: Unit, n: number): Kernel {
  const k = bootKernel();
  const init = k.init;
  if (unit === 'task') writeSysctl(init, 'kernel/pid_max', 4_194_304);
  if (unit === 'msg-queue') writeSysctl(init, 'kernel/msgmni', n);
  if (unit === 'sem-set') writeSysctl(init, 'kernel/sem', `32000 1024000000 500 ${n}`);
  if (unit === 'shm-segment') writeSysctl(init, 'kernel/shmmni', n);
  if (unit === 'message') {
    writeSysctl(init, 'kernel/msgmnb', n * MSG.length);
    init.sys.msgget(0x6d65, C.IPC_CREAT | 0o600);
  }
  if (unit === 'fd') {
    raiseNofile(init, n + 64);
    init.sys.close(init.sys.open('/tmp/f', C.O_WRONLY | C.O_CREAT, 0o644));
  }
  return k;
}

function create(k: Kernel, unit: Unit, n: number): void {
  const sys = k.init.sys;
  switch (unit) {
    case 'task':
      for (let i = 0; i < n; i++) sys.fork();
      break;
    case 'message': {
      const id = sys.msgget(0x6d65, 0);
      for (let i = 0; i < n; i++) sys.msgsnd(id, 1, MSG, C.IPC_NOWAIT);
      break;
    }
    case 'msg-queue':
      for (let i = 0; i < n; i++) sys.msgget(C.IPC_PRIVATE, C.IPC_CREAT | 0o600);
      break;
    case 'sem-set':
      for (let i = 0; i < n; i++) sys.semget(C.IPC_PRIVATE, 1, C.IPC_CREAT | 0o600);
      break;
    case 'shm-segment':
      for (let i = 0; i < n; i++) sys.shmget(C.IPC_PRIVATE, 4096, C.IPC_CREAT | 0o600);
      break;
    case 'fd':
      for (let i = 0; i < n; i++) sys.open('/tmp/f', C.O_RDONLY);
      break;
  }
}

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  gc();
  gc();
}

function main(): void {
  const unit = process.argv[2] as Unit;
  const n = Number(process.argv[3]);
  if (!UNITS.includes(unit) || !Number.isInteger(n) || n <= 0) throw new Error(`usage: memory-child.js <${UNITS.join('|')}> <n>`);
  const k = prepare(unit, n);
  collect();
  const before = process.memoryUsage();
  create(k, unit, n);
  collect();
  const after = process.memoryUsage();
  // Keep the kernel alive up to here.
  if (k.s.tasks.size === 0) throw new Error('no tasks');
  const reading: MemoryReading = { unit, n, before, after };
  process.stdout.write(`${JSON.stringify(reading)}\n`);
}

if (process.argv[1]?.endsWith('memory-child.js')) main();
