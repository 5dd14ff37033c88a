/**
 * Section 1: SysV IPC operations, model vs native (bench/native/ops.c has the same loops).
 * Target: the model at least 5× the native kernel's throughput on each.
 */
import type { CompareCase } from '../lib/compare.js';
import { bootKernel, C, writeSysctl } from '../lib/model.js';

const MSG = new Uint8Array(64).fill(0x78);
/** Messages in the MSG_COPY queue. */
export const COPY_QUEUE = 2000;
const TARGET = 5;

export const IPC_CASES: CompareCase[] = [
  {
    id: 'msg-roundtrip',
    label: 'msgsnd+msgrcv 64 B',
    native: 'msg-roundtrip',
    targetRatio: TARGET,
    model: (iters) => {
      const sys = bootKernel().init.sys;
      const id = sys.msgget(C.IPC_PRIVATE, C.IPC_CREAT | 0o600);
      return () => {
        for (let i = 0; i < iters; i++) {
          sys.msgsnd(id, 1, MSG, 0);
          sys.msgrcv(id, 64, 0, 0);
        }
      };
    },
  },
  {
    id: 'msgget-rmid',
    label: 'msgget+IPC_RMID',
    native: 'msgget-rmid',
    targetRatio: TARGET,
    model: (iters) => {
      const sys = bootKernel().init.sys;
      return () => {
        for (let i = 0; i < iters; i++) sys.msgctl(sys.msgget(C.IPC_PRIVATE, C.IPC_CREAT | 0o600), C.IPC_RMID);
      };
    },
  },
  {
    id: 'semop-pair',
    label: 'semop −1 then +1',
    native: 'semop-pair',
    targetRatio: TARGET,
    model: (iters) => {
      const sys = bootKernel().init.sys;
      const id = sys.semget(C.IPC_PRIVATE, 1, C.IPC_CREAT | 0o600);
      sys.semctl(id, 0, C.SETVAL, 1);
      const down = [{ sem_num: 0, sem_op: -1, sem_flg: 0 }];
      const up = [{ sem_num: 0, sem_op: 1, sem_flg: 0 }];
      return () => {
        for (let i = 0; i < iters; i++) {
          sys.semop(id, down);
          sys.semop(id, up);
        }
      };
    },
  },
  {
    id: 'shmat-shmdt',
    label: 'shmat+shmdt',
    native: 'shmat-shmdt',
    targetRatio: TARGET,
    model: (iters) => {
      const sys = bootKernel().init.sys;
      const id = sys.shmget(C.IPC_PRIVATE, 4096, C.IPC_CREAT | 0o600);
      return () => {
        for (let i = 0; i < iters; i++) sys.shmdt(sys.shmat(id, 0, 0));
      };
    },
  },
  {
    id: 'msg-copy',
    label: `MSG_COPY of msg i of ${COPY_QUEUE}`,
    native: 'msg-copy',
    targetRatio: TARGET,
    model: (iters) => {
      const init = bootKernel().init;
      writeSysctl(init, 'kernel/msgmnb', COPY_QUEUE * MSG.length * 2);
      const sys = init.sys;
      const id = sys.msgget(C.IPC_PRIVATE, C.IPC_CREAT | 0o600);
      for (let i = 0; i < COPY_QUEUE; i++) sys.msgsnd(id, 1, MSG, C.IPC_NOWAIT);
      return () => {
        for (let i = 0; i < iters; i++) sys.msgrcv(id, 64, i % COPY_QUEUE, C.MSG_COPY | C.IPC_NOWAIT);
      };
    },
  },
];
