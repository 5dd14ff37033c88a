/**
 * Model-side helpers shared by the suites: a fresh kernel, sysctl writes through procfs (the way
 * a root shell would raise a limit), and the SysV IPC entry points.
 */
import { Kernel, constants as C, type Task } from '../../src/index.js';

export { Kernel, C, type Task };

/** A freshly booted kernel (linux-6 profile). */
export function bootKernel(): Kernel {
  return new Kernel({ profile: 'linux-6' });
}

/** Writes `value` to /proc/sys/<name> as `task` (e.g. `kernel/msgmni`). */
export function writeSysctl(task: Task, name: string, value: number | string): void {
  const fd = task.sys.open(`/proc/sys/${name}`, C.O_WRONLY);
  try {
    task.sys.write(fd, `${value}\n`);
  } finally {
    task.sys.close(fd);
  }
}

/** Raises RLIMIT_NOFILE (soft and hard) of `task`'s process to `n` (at most fs.nr_open). */
export function raiseNofile(task: Task, n: number): void {
  task.sys.setrlimit(C.RLIMIT_NOFILE, { rlim_cur: n, rlim_max: n });
}
