/**
 * Section 2: process and file operations, model vs native. Reported, no target yet.
 */
import type { CompareCase } from '../lib/compare.js';
import { bootKernel, C } from '../lib/model.js';

/** Flags of a thread as pthread_create passes them (without the TLS/tid-address ones). */
const THREAD = C.CLONE_VM | C.CLONE_FS | C.CLONE_FILES | C.CLONE_SIGHAND | C.CLONE_THREAD | C.CLONE_SYSVSEM;
const FILE = '/tmp/nsd-bench-file';

export const PROC_CASES: CompareCase[] = [
  {
    id: 'fork-exit-wait',
    label: 'fork+exit+wait4',
    native: 'fork-exit-wait',
    targetRatio: null,
    model: (iters) => {
      const k = bootKernel();
      const sys = k.init.sys;
      return () => {
        for (let i = 0; i < iters; i++) {
          const pid = sys.fork();
          k.task(pid)!.sys.exit(0);
          sys.wait4(pid, 0);
        }
      };
    },
  },
  {
    id: 'clone-thread-exit',
    label: 'clone (thread)+exit',
    native: 'clone-thread-exit',
    targetRatio: null,
    model: (iters) => {
      const k = bootKernel();
      const sys = k.init.sys;
      return () => {
        for (let i = 0; i < iters; i++) k.task(sys.clone(THREAD))!.sys.exit(0);
      };
    },
  },
  {
    id: 'open-close',
    label: 'open+close (tmpfs)',
    native: 'open-close',
    targetRatio: null,
    model: (iters) => {
      const sys = bootKernel().init.sys;
      sys.close(sys.open(FILE, C.O_WRONLY | C.O_CREAT, 0o644));
      return () => {
        for (let i = 0; i < iters; i++) sys.close(sys.open(FILE, C.O_RDONLY));
      };
    },
  },
  {
    id: 'dup2',
    label: 'dup2 onto an open fd',
    native: 'dup2',
    targetRatio: null,
    model: (iters) => {
      const sys = bootKernel().init.sys;
      sys.close(sys.open(FILE, C.O_WRONLY | C.O_CREAT, 0o644));
      const fd = sys.open(FILE, C.O_RDONLY);
      return () => {
        for (let i = 0; i < iters; i++) sys.dup2(fd, 100);
      };
    },
  },
];
