/**
 * Linux errno values (x86_64 / asm-generic, include/uapi/asm-generic/errno-base.h and errno.h),
 * the one error type the kernel model throws on purpose (`ErrnoError`), and the distinct
 * "would block" signal (`WouldBlockError`) a direct call raises where Linux would sleep.
 */

/** errno name → [number, strerror() text]. One table; everything else is derived from it. */
const ERRNO_TABLE = {
  EPERM: [1, 'Operation not permitted'],
  ENOENT: [2, 'No such file or directory'],
  ESRCH: [3, 'No such process'],
  EINTR: [4, 'Interrupted system call'],
  EIO: [5, 'Input/output error'],
  ENXIO: [6, 'No such device or address'],
  E2BIG: [7, 'Argument list too long'],
  ENOEXEC: [8, 'Exec format error'],
  EBADF: [9, 'Bad file descriptor'],
  ECHILD: [10, 'No child processes'],
  EAGAIN: [11, 'Resource temporarily unavailable'],
  ENOMEM: [12, 'Cannot allocate memory'],
  EACCES: [13, 'Permission denied'],
  EFAULT: [14, 'Bad address'],
  ENOTBLK: [15, 'Block device required'],
  EBUSY: [16, 'Device or resource busy'],
  EEXIST: [17, 'File exists'],
  EXDEV: [18, 'Invalid cross-device link'],
  ENODEV: [19, 'No such device'],
  ENOTDIR: [20, 'Not a directory'],
  EISDIR: [21, 'Is a directory'],
  EINVAL: [22, 'Invalid argument'],
  ENFILE: [23, 'Too many open files in system'],
  EMFILE: [24, 'Too many open files'],
  ENOTTY: [25, 'Inappropriate ioctl for device'],
  ETXTBSY: [26, 'Text file busy'],
  EFBIG: [27, 'File too large'],
  ENOSPC: [28, 'No space left on device'],
  ESPIPE: [29, 'Illegal seek'],
  EROFS: [30, 'Read-only file system'],
  EMLINK: [31, 'Too many links'],
  EPIPE: [32, 'Broken pipe'],
  EDOM: [33, 'Numerical argument out of domain'],
  ERANGE: [34, 'Numerical result out of range'],
  EDEADLK: [35, 'Resource deadlock avoided'],
  ENAMETOOLONG: [36, 'File name too long'],
  ENOLCK: [37, 'No locks available'],
  ENOSYS: [38, 'Function not implemented'],
  ENOTEMPTY: [39, 'Directory not empty'],
  ELOOP: [40, 'Too many levels of symbolic links'],
  ENOMSG: [42, 'No message of desired type'],
  EIDRM: [43, 'Identifier removed'],
  ENOSTR: [60, 'Device not a stream'],
  ENODATA: [61, 'No data available'],
  ETIME: [62, 'Timer expired'],
  EOVERFLOW: [75, 'Value too large for defined data type'],
  EBADFD: [77, 'File descriptor in bad state'],
  EILSEQ: [84, 'Invalid or incomplete multibyte or wide character'],
  EUSERS: [87, 'Too many users'],
  ENOTSOCK: [88, 'Socket operation on non-socket'],
  EOPNOTSUPP: [95, 'Operation not supported'],
  ETIMEDOUT: [110, 'Connection timed out'],
  ECANCELED: [125, 'Operation canceled'],
} as const satisfies Record<string, readonly [number, string]>;

/** An errno name such as `'EBUSY'`. */
export type ErrnoCode = keyof typeof ERRNO_TABLE;

/** errno name → number, e.g. `Errno.EBUSY === 16`. */
export const Errno: { readonly [K in ErrnoCode]: (typeof ERRNO_TABLE)[K][0] } = Object.freeze(
  Object.fromEntries(Object.entries(ERRNO_TABLE).map(([k, v]) => [k, v[0]])),
) as never;

const BY_NUMBER: ReadonlyMap<number, ErrnoCode> = new Map(
  Object.entries(ERRNO_TABLE).map(([k, v]) => [v[0], k as ErrnoCode]),
);

/** The errno name for a number, or undefined. */
export function errnoName(n: number): ErrnoCode | undefined {
  return BY_NUMBER.get(n);
}

/** strerror(3) text for an errno name. */
export function strerror(code: ErrnoCode): string {
  return ERRNO_TABLE[code][1];
}

/** True when `s` is a known errno name. */
export function isErrnoCode(s: string): s is ErrnoCode {
  return Object.prototype.hasOwnProperty.call(ERRNO_TABLE, s);
}

/**
 * A failed system call: what Linux reports as `-errno`.
 * `code` is the name (`'EBUSY'`), `errno` the Linux number, `syscall` the call that failed
 * (filled in by the syscall layer when the error leaves the kernel).
 */
export class ErrnoError extends Error {
  readonly code: ErrnoCode;
  readonly errno: number;
  syscall: string | undefined;
  /** Why, in words (e.g. `preset fd 7 is open`), or undefined. Kept when the syscall name is added. */
  readonly detail: string | undefined;

  constructor(code: ErrnoCode, syscall?: string, detail?: string) {
    super(ErrnoError.format(code, syscall, detail));
    this.name = 'ErrnoError';
    this.code = code;
    this.errno = ERRNO_TABLE[code][0];
    this.syscall = syscall;
    this.detail = detail;
  }

  /** `EINVAL: Invalid argument, open (why)`: the message of an error. */
  private static format(code: ErrnoCode, syscall: string | undefined, detail: string | undefined): string {
    return `${code}: ${strerror(code)}${syscall ? `, ${syscall}` : ''}${detail ? ` (${detail})` : ''}`;
  }

  /** Sets the syscall name once (the innermost caller wins) and refreshes the message, detail kept. */
  withSyscall(syscall: string): this {
    if (this.syscall === undefined) {
      this.syscall = syscall;
      this.message = ErrnoError.format(this.code, syscall, this.detail);
    }
    return this;
  }

  toJSON(): { code: ErrnoCode; errno: number; syscall: string | undefined; message: string } {
    return { code: this.code, errno: this.errno, syscall: this.syscall, message: this.message };
  }
}

/**
 * Thrown by a direct `task.sys.*` call that Linux would put to sleep (a blocking msgrcv on an
 * empty queue, a read from an empty pipe, wait4 without WNOHANG and no zombie…).
 * It is deliberately *not* an `ErrnoError`: it has `code === 'WOULDBLOCK'` and no `errno`.
 * Nothing was changed by the call. Under the scheduler the same call really sleeps instead.
 */
export class WouldBlockError extends Error {
  readonly code = 'WOULDBLOCK' as const;
  readonly syscall: string;
  /** What the task would sleep on (a wait channel, e.g. `msgq:32768:recv`). */
  readonly wchan: string;

  constructor(syscall: string, wchan: string) {
    super(`${syscall} would block (waiting on ${wchan})`);
    this.name = 'WouldBlockError';
    this.syscall = syscall;
    this.wchan = wchan;
  }
}

/** Shorthand used throughout the kernel: `throw err('EINVAL')`. */
export function err(code: ErrnoCode, detail?: string): ErrnoError {
  return new ErrnoError(code, undefined, detail);
}

/**
 * The kernel has panicked (the initial namespace's init exited: "Attempted to kill init!",
 * kernel/exit.c do_exit). A real machine stops; the model keeps its state as it was at the panic
 * (plain data, consistent, `KernelState.panicked` says why) and refuses every later syscall and
 * scheduler run with this error. It is an `ErrnoError` (code EIO, "the machine is gone") so that
 * every caller that handles syscall failures handles it too; `instanceof KernelPanic` tells it apart.
 */
export class KernelPanic extends ErrnoError {
  constructor(readonly reason: string, syscall?: string) {
    super('EIO', syscall, `Kernel panic - not syncing: ${reason}`);
    this.name = 'KernelPanic';
  }
}

/**
 * A broken invariant inside the model (a bug, never a user error). Tests fail on it.
 */
export class KernelBug extends Error {
  constructor(message: string) {
    super(`kernel bug: ${message}`);
    this.name = 'KernelBug';
  }
}
