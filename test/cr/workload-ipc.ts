/**
 * SysV IPC ops for the c/r workloads: a queue (producers msgsnd, consumers msgrcv and block on an
 * empty queue), a semaphore guarding a counter in shm (down with or without SEM_UNDO, increment,
 * up), all created by the container's init before the random part runs.
 */
import fc from 'fast-check';
import { IPC_PRIVATE, IPC_CREAT, SEM_UNDO, SETVAL } from '../../src/abi/constants.js';
import type { KernelCore } from '../../src/kernel/core.js';
import type { TaskState } from '../../src/kernel/state.js';
import { readMemory, writeMemory } from '../../src/kernel/mm/mm.js';
import { defineSyscall, untypedCall } from '../../src/syscalls/table.js';
import { IPC_OPS, type Op } from './workload.js';

export const IPC_WORKLOAD: { ops: (() => fc.Arbitrary<Op>) | null; prologue: (() => Op[]) | null } = {
  ops: () => fc.constantFrom<Op>(
    ['ipc', 'msgsnd'], ['ipc', 'msgsnd'], ['ipc', 'msgrcv'],
    ['ipc', 'down', 0], ['ipc', 'down', 1], ['ipc', 'inc'], ['ipc', 'up'],
  ),
  prologue: () => [['ipc', 'setup']],
};

defineSyscall({
  name: 'nsd_test_inc',
  handler: (k: KernelCore, t: TaskState, addr: number) => {
    const v = readMemory(k, t, addr, 1)[0]! + 1;
    writeMemory(k, t, addr, new Uint8Array([v & 0xff]));
    return v;
  },
  args: ['hex'],
  ret: 'int',
});



IPC_OPS.run = (ctx, op) => {
  const v = ctx.state.v;
  switch (op[1]) {
    case 'setup':
      v.q = ctx.sys.msgget(IPC_PRIVATE, IPC_CREAT | 0o600);
      v.s = ctx.sys.semget(0x5e3, 1, IPC_CREAT | 0o600);
      ctx.sys.semctl(v.s, 0, SETVAL, 1);
      v.shmid = ctx.sys.shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600);
      v.shm = ctx.sys.shmat(v.shmid, 0, 0);
      return undefined;
    case 'msgsnd':

      return { call: 'msgsnd', args: [v.q ?? -1, (ctx.state.pc % 3) + 1, `m${ctx.state.pc}`, 0] };
    case 'msgrcv':
      return { call: 'msgrcv', args: [v.q ?? -1, 64, 0, 0] };
    case 'down':
      return { call: 'semop', args: [v.s ?? -1, [{ sem_num: 0, sem_op: -1, sem_flg: op[2] ? SEM_UNDO : 0 }]] };
    case 'up':
      return { call: 'semop', args: [v.s ?? -1, [{ sem_num: 0, sem_op: 1, sem_flg: 0 }]] };
    case 'inc':
      return untypedCall('nsd_test_inc', [(v.shm ?? 0) + 16]);
    default:
      return undefined;
  }
};
