/**
 * The kernel's state, as plain data.
 *
 * Invariants that checkpoint/restart depends on:
 * - Everything here survives `structuredClone` unchanged: numbers, bigints, strings, booleans,
 *   arrays, plain objects, Maps, Sets and Uint8Arrays. No class instances, closures, generators or
 *   Promises.
 * - Objects refer to each other by id (a number), never by reference. Ids come from
 *   `KernelState.nextId` except task ids, which are the task's pid in the initial namespace
 *   (its "kid": unique for the task's whole life).
 * - Derived indexes (wait queues by channel, the set of sleepers with a deadline, run-queue
 *   membership, the task-handle cache) are not here; they are rebuilt from this state (see
 *   `Kernel.fromState`), and exactly: wait queues and timers are ordered by each sleeper's
 *   `BlockState.seq`, so a kernel resumed from a copy of the state wakes tasks in the same order.
 */
import type { ErrnoCode } from '../abi/errno.js';
import type { ProfileName } from './profile.js';
import type { IpcNsFields, SysvIpcState } from './ipc/util.js';

/** The whole kernel state, plain data (what `snapshot()` copies and `Kernel.fromState` resumes). */
export interface KernelState {
  profile: ProfileName;
  /** Virtual clock in nanoseconds since the Unix epoch (CLOCK_REALTIME). */
  clockNs: number;
  /**
   * The realtime clock at boot, in nanoseconds since the Unix epoch: CLOCK_MONOTONIC (and
   * BOOTTIME) count from it (`clockNs - bootNs`), as Linux's count from boot. Nobody sets the
   * time, so the two clocks keep their distance.
   */
  bootNs: number;
  /** Next id for namespaces, files, inodes, fd tables, mms… */
  nextId: number;
  /** kernel.pid_max when it is global (profiles before 6.14); see PidNsState.pidMax otherwise. */
  pidMax: number;
  /** The initial namespaces. */
  rootPidNs: number;
  rootIpcNs: number;
  /** Tasks (threads) by kid. */
  tasks: Map<number, TaskState>;
  /** Thread groups (processes) by the kid of their leader. */
  procs: Map<number, ProcState>;
  pidns: Map<number, PidNsState>;
  /** IPC namespaces; their contents belong to src/kernel/ipc. */
  ipcns: Map<number, IpcNsState>;
  fdtables: Map<number, FdTableState>;
  /** Open file descriptions (struct file). */
  files: Map<number, OpenFileState>;
  inodes: Map<number, InodeState>;
  rootIno: number;
  mms: Map<number, MmState>;
  /** Runnable tasks in scheduling order (kids). */
  runq: number[];
  /**
   * The sleep sequence number the next task to sleep gets (`BlockState.seq`). Back to 0 whenever
   * no task sleeps (the numbers only order tasks asleep at the same time), so that two histories
   * that end in the same state also end with the same counter.
   */
  sleepSeq: number;
  /** Scheduler statistics; also the tie-break seed. */
  sched: { steps: number; seed: number };
  /** Set once the initial namespace's init has died. */
  panicked: string | null;
  /** SysV IPC state that is not per namespace (SEM_UNDO lists, the pids IPC records hold); see src/kernel/ipc. */
  ipc: SysvIpcState;
}

/** Credentials (struct cred). Capabilities as a bit set over CAP_* numbers (bigint, 64 bits). */
export interface Cred {
  uid: number;
  euid: number;
  suid: number;
  fsuid: number;
  gid: number;
  egid: number;
  sgid: number;
  fsgid: number;
  groups: number[];
  capEffective: bigint;
  capPermitted: bigint;
}

/** next_syscall_data (patch 1/5): absent, or `{ ndata, data }`. Values are C `long`s. */
export interface NsdState {
  ndata: number;
  data: bigint[];
}

/** Result of a syscall as data: what a program step receives. */
export type SysResult =
  | { ok: true; value: unknown }
  | {
      ok: false;
      code: ErrnoCode;
      /**
       * What the call wrote back to its out-parameters although it failed (absent: nothing), as
       * Linux writes nanosleep's `rem` and returns EINTR: the time left, in the request's form.
       */
      out?: unknown;
    };

/** A syscall as data: name and arguments (all plain data). */
export interface SysCall {
  name: string;
  args: unknown[];
}

/** A task parked in a blocking syscall. */
export interface BlockState {
  call: SysCall;
  /** Wait channel, e.g. `pipe:12:r`, `msgq:3:32768:recv`, `wait:42`. */
  wchan: string;
  /** Absolute virtual deadline (ns) or null. */
  deadlineNs: number | null;
  /** Set by a waker that completed the call on the sleeper's behalf (pipelined hand-off). */
  result: SysResult | null;
  /** Mechanism-private data kept while asleep (e.g. a queued semop's blocking op, a msgrcv's msg_receiver). */
  data: unknown;
  /**
   * Sleep sequence number, from `KernelState.sleepSeq` when the task was parked: its place in its
   * wait queue (FIFO) and among timers with the same deadline. Stale once the task is woken.
   */
  seq: number;
}

/** The running program of a task: which registered program, and its whole state. */
export interface ProgramState {
  /** Registered program name (e.g. `/bin/sh`). */
  name: string;
  argv: string[];
  envp: string[];
  /** The program's own state (plain data). */
  data: unknown;
  /** Result of the call the previous step yielded, delivered to the next step. */
  result: SysResult | null;
  /** Signals delivered to a program handler, not yet seen by the program. */
  signals: number[];
}

export type TaskRunState = 'running' | 'blocked' | 'stopped' | 'zombie' | 'dead';

/** A task (thread): struct task_struct. */
export interface TaskState {
  kid: number;
  /** kid of the thread-group leader (the process). */
  tgid: number;
  /** Pid numbers per namespace level, from the initial namespace (index 0) to the task's own. */
  pids: number[];
  /** The task's active pid namespace (the innermost one it has a number in). */
  pidns: number;
  /** nsproxy->pid_ns_for_children. */
  pidnsForChildren: number;
  ipcns: number;
  state: TaskRunState;
  comm: string;
  cred: Cred;
  fdtable: number;
  mm: number;
  cwd: string;
  umask: number;
  nsd: NsdState | null;
  /** Blocked signal mask (bit n-1 for signal n). */
  sigmask: bigint;
  /**
   * task->saved_sigmask with TIF_RESTORE_SIGMASK: the mask to restore once a signal handler has
   * been set up, kept while rt_sigsuspend has replaced `sigmask` (null: nothing to restore).
   */
  savedSigmask: bigint | null;
  /** Thread-directed pending signals. */
  pending: number[];
  blocked: BlockState | null;
  prog: ProgramState | null;
  /** vfork: the parent's kid while the parent waits for this child to exec or exit. */
  vforkParent: number;
  /** Exit code of this thread (for zombies of thread-group leaders, see ProcState). */
  exitCode: number;
}

/** A thread group (process): signal_struct + the per-process parts of task_struct. */
export interface ProcState {
  tgid: number;
  /** kids of the threads, leader first. */
  threads: number[];
  /** kid (tgid) of the real parent process. */
  parent: number;
  /** tgids of child processes, in creation order. */
  children: Set<number>;
  /** tgids of children that are zombies, in order of death. */
  zombies: Set<number>;
  /** Process group and session, as the tgid of their leader (kids). */
  pgid: number;
  sid: number;
  /** Signal number sent to the parent at exit (SIGCHLD or clone's CSIGNAL). */
  exitSignal: number;
  /** Per-signal disposition: SIG_DFL (0), SIG_IGN (1) or 2 (a program handler). Index = signal. */
  sigaction: number[];
  /** Process-directed pending signals. */
  pending: number[];
  /** Group exit in progress (exit_group or fatal signal) and its wait status. */
  groupExit: boolean;
  /** Wait status once the process is a zombie. */
  status: number;
  /** Stop state for wait(WUNTRACED/WCONTINUED). */
  stopped: boolean;
  /** Unreported stop (signal) / continue events for the parent's wait. */
  stopReport: number;
  contReport: boolean;
  /** RLIMIT_NOFILE soft/hard, RLIMIT_MEMLOCK soft. */
  rlimNofile: number;
  rlimNofileMax: number;
  rlimMemlock: number;
  /** Child subreaper flag (PR_SET_CHILD_SUBREAPER). */
  subreaper: boolean;
  /** SysV semaphore undo list id, shared through CLONE_SYSVSEM (0 = none yet). */
  semUndo: number;
  /** Creation order among processes (wait4 picks the earliest-created ready child, as Linux's list walk). */
  forkSeq: number;
}

export interface PidNsState {
  id: number;
  level: number;
  /** Parent namespace id, or 0 for the initial namespace. */
  parent: number;
  /**
   * Allocation cursor. 2.6.26: last_pid. 4.15+: the idr cursor minus one (what ns_last_pid reads).
   */
  lastPid: number;
  /** pid number → kid of the task that holds it at this level. */
  pids: Map<number, number>;
  /** kid of the child reaper (pid 1), 0 if none yet or dead. */
  reaper: number;
  /** This namespace's kernel.pid_max (profiles with `pidMaxPerNs`; else the global `s.pidMax` applies). */
  pidMax: number;
  /** PIDNS_ADDING: false once the init of this namespace has exited. */
  adding: boolean;
  /** Tasks (and zombies) holding a pid in this namespace or below it. Used for teardown. */
  refs: number;
}

/** An IPC namespace (struct ipc_namespace): its SysV IPC limits, id spaces and objects are src/kernel/ipc's fields. */
export interface IpcNsState extends IpcNsFields {
  id: number;
  /** Tasks and shm attachments holding the namespace. */
  refs: number;
}

export interface FdTableState {
  id: number;
  /** How many tasks share this table (CLONE_FILES). */
  refs: number;
  /** fd → open file id. */
  fds: Map<number, number>;
  /** fds with FD_CLOEXEC. */
  cloexec: Set<number>;
  /** Lowest fd that may be free (files->next_fd). */
  nextFd: number;
}

export type FileKind = 'vfs' | 'pipe' | 'proc' | 'dev';

/** An open file description (struct file). */
export interface OpenFileState {
  id: number;
  refs: number;
  kind: FileKind;
  /** Open flags: access mode and status flags (O_APPEND, O_NONBLOCK…). */
  flags: number;
  pos: number;
  /** Inode for vfs/pipe/dev files. */
  ino: number;
  /** Path as opened (for /proc/<pid>/fd links and c/r). */
  path: string;
  /** procfs node for kind 'proc'. */
  proc: ProcNode | null;
  /** getdents cursor for directories (index into a sorted listing). */
  dirPos: number;
}

/** A procfs node: what a /proc path resolved to (plain data; contents are generated on read). */
export interface ProcNode {
  /** Node type, e.g. `root`, `pid-dir`, `status`, `nsd`, `sys`. */
  type: string;
  /** kid of the process (thread group) or task the node describes, 0 if none. */
  kid: number;
  /** kid of the thread for per-thread nodes, 0 otherwise. */
  tid: number;
  /** Extra selector (sysctl name, fd number…). */
  arg: string;
  /** Pid namespace the path was resolved in (numbers in the content are seen from it). */
  ns: number;
  /**
   * An open /proc/<pid>/ns/{pid,pid_for_children} file: the pid namespace it refers to, bound at
   * open (the open file holds the namespace, as nsfs does, even after the task is gone).
   */
  target?: number;
}

export type InodeType = 'dir' | 'reg' | 'fifo' | 'chr' | 'lnk';

export interface InodeState {
  ino: number;
  type: InodeType;
  /** Permission bits (07777). */
  perm: number;
  uid: number;
  gid: number;
  nlink: number;
  /** Pipe buffer for fifos (regular files keep their content in `pages`). */
  data: Uint8Array;
  /**
   * Regular files: the content as sparse pages (page index → 4096 bytes; holes read as zeros),
   * see src/kernel/fs/filedata.ts. Absent or null for other types.
   */
  pages?: Map<number, Uint8Array> | null;
  /** Bytes of `data` in use (files and pipes). */
  size: number;
  /** Directory entries (name → ino), sorted on read. */
  entries: Map<string, number> | null;
  /** Parent directory ino (dirs). */
  parent: number;
  /** Pipes: open read/write ends. */
  readers: number;
  writers: number;
  /** Device id for character devices (`null`, `zero`…). */
  dev: string;
  mtimeNs: number;
  ctimeNs: number;
  /** Open file descriptions referring to this inode (keeps unlinked files alive). */
  openRefs: number;
}

/** A memory mapping. Content for anonymous mappings lives in `data`; shm in the IPC namespace. */
export interface Mapping {
  start: number;
  len: number;
  /** PROT_READ 1 | PROT_WRITE 2 | PROT_EXEC 4. */
  prot: number;
  kind: 'anon' | 'shm';
  /**
   * Anonymous private content, sparse (src/kernel/mm/pages.ts): virtual page number → 4096 bytes;
   * absent pages read as zero. Empty for shm (the segment holds the pages).
   */
  pages: Map<number, Uint8Array>;
  /** Virtual page numbers whose PTE is present (written, or for shm also read, through this mapping). */
  present: Set<number>;
  /** Soft-dirty PTE bits (virtual page numbers): set by a write, cleared by clear_refs 4. */
  softDirty: Set<number>;
  /** VM_SOFTDIRTY: set on a new mapping, cleared by clear_refs 4; while set every page reads as soft-dirty. */
  vmSoftDirty: boolean;
  /** userfaultfd MISSING mode (src/kernel/mm/uffd.ts): virtual page numbers not filled yet; absent when none. */
  missing?: Set<number>;
  /** shm: IPC namespace id and shm id. */
  ipcns: number;
  shmid: number;
  /** Original shmat flags (SHM_RDONLY…). */
  flags: number;
}

/** An address space (struct mm_struct), shared by CLONE_VM. */
export interface MmState {
  id: number;
  users: number;
  /** Mappings sorted by start address. */
  maps: Mapping[];
  /** Next address tried by mmap/shmat with a NULL address (top-down in Linux; bottom-up here). */
  mmapBase: number;
  /** userfaultfd registration this address space's missing pages belong to (kept across fork); absent when none. */
  uffd?: number;
}
