/** The records of the process syscalls (wait4(2), include/uapi/linux/resource.h), as plain data. */

/** What wait4(2) returns: the pid and the status word it stores through `wstatus`. */
export interface WaitResult {
  /** Pid of the child in the caller's namespace (0 with WNOHANG and nothing ready). */
  pid: number;
  /** Wait status (WIFEXITED/WEXITSTATUS… encoding). */
  status: number;
}

/** struct rlimit (getrlimit(2), setrlimit(2)); RLIM_INFINITY is abi/constants.ts's. */
export interface Rlimit {
  rlim_cur: number;
  rlim_max: number;
}
