/**
 * Kernel profiles: every behaviour that differs between Linux 2.6.26 (the seed's era) and modern
 * Linux 6.x lives in this one table. Kernel code reads `k.profile.<field>`; it never tests the
 * profile's name.
 */
import type { ErrnoCode } from '../abi/errno.js';

/** The Linux versions modelled: `linux-6` (default) and `linux-2.6.26` (the RFC's kernel). */
export type ProfileName = 'linux-6' | 'linux-2.6.26';

/** A Linux version the model behaves as (id allocation, limits, errno choices that changed). */
export interface Profile {
  readonly name: ProfileName;
  /** What `uname -r` says. */
  readonly release: string;

  // ---- pids (kernel/pid.c) ----
  /**
   * `bitmap`: 2.6.26 alloc_pidmap (try last_pid+1, wrap to RESERVED_PIDS, scan forward).
   * `idr-cyclic`: 4.15+ idr_alloc_cyclic from the cursor (pid_min 1, or 300 once past 300).
   */
  readonly pidAlloc: 'bitmap' | 'idr-cyclic';
  /** errno of fork when a namespace has no free pid: ENOMEM (alloc_pidmap → -1) / EAGAIN (4.15+). */
  readonly pidExhausted: ErrnoCode;
  /** `/proc/sys/kernel/ns_last_pid` exists (3.3+). */
  readonly nsLastPid: boolean;
  /** clone3 exists (5.3+) with set_tid (5.5+). */
  readonly clone3: boolean;
  /** CAP_CHECKPOINT_RESTORE exists (5.9+); otherwise only CAP_SYS_ADMIN grants c/r interfaces. */
  readonly capCheckpointRestore: boolean;
  /** Default pid_max. */
  readonly pidMaxDefault: number;
  /**
   * pid_max is per pid namespace (6.14+, kernel/pid.c register_pidns_sysctls): each namespace has
   * its own `kernel.pid_max`, inherited at creation; each level allocates below its own limit, so
   * every ancestor's limit applies. Otherwise one global value.
   */
  readonly pidMaxPerNs: boolean;
  /** unshare(CLONE_NEWPID) is allowed (3.8+; 2.6.26's check_unshare_flags rejects it: EINVAL). */
  readonly unshareNewPid: boolean;
  /** setns(2) exists (3.0; pid namespaces 3.8). */
  readonly setns: boolean;
  /** /proc/<pid>/status has the NStgid/NSpid/NSpgid/NSsid lines (4.1+). */
  readonly procNsPid: boolean;
  /**
   * /proc/<pid>/pagemap's modern format (3.11+/4.2+): bit 55 soft-dirty, 56 exclusively mapped, 61
   * file/shared, PFN hidden from the unprivileged (4.0+), clear_refs 4 clears soft-dirty. Without
   * it (2.6.26): bits 55-60 hold the page shift, every reader sees PFNs, clear_refs takes any
   * non-zero number.
   */
  readonly softDirty: boolean;

  // ---- files (fs/file.c) ----
  /** Default RLIMIT_NOFILE soft limit of init. */
  readonly nofileDefault: number;
  /** fs.nr_open: the hard ceiling for RLIMIT_NOFILE. */
  readonly nrOpen: number;

  // ---- SysV IPC (ipc/util.c and friends); consumed by src/kernel/ipc ----
  readonly ipc: IpcProfile;
}

export interface IpcProfile {
  /** `lowest-seq`: 2.6.26 idr_get_new + ids->seq++; `cyclic`: 5.1+ ipc_idr_alloc (cyclic, seq on wrap). */
  readonly alloc: 'lowest-seq' | 'cyclic';
  /** errno for a used slot whose seq does not match: EIDRM (ipc_lock_check) / EINVAL (ipc_obtain_object_check). */
  readonly staleId: ErrnoCode;
  /** Largest sequence number before it wraps to 0. */
  readonly seqMax: number;
  /** `kernel.{msg,sem,shm}_next_id` sysctls exist (3.8+, CONFIG_CHECKPOINT_RESTORE). */
  readonly nextIdSysctls: boolean;
  /** MSG_COPY exists (3.8+). */
  readonly msgCopy: boolean;
  /** msgrcv with msgtyp LONG_MIN selects up to LONG_MAX (convert_mode, 4.x+); 2.6.26 negated it in place (matches nothing). */
  readonly msgtypLongMinAsMax: boolean;
  /** MSG_STAT_ANY / SEM_STAT_ANY / SHM_STAT_ANY exist (4.17+). */
  readonly statAny: boolean;
  /** SETALL also sets sempid of every semaphore (2.6.26 left it untouched). */
  readonly setallSetsSempid: boolean;
  /** IPC_SET refuses an invalid uid/gid (-1) with EINVAL (uid_valid, 3.5+); 2.6.26 stored any value. */
  readonly setChecksIds: boolean;
  /** GETNCNT/GETZCNT count every op of a sleeper on the semaphore (2.6.26), not only the op that blocked (3.x+ check_qop). */
  readonly semcntAllOps: boolean;
  /** SETVAL checks the value (ERANGE) before the id (modern semctl_setval); 2.6.26 checked it last. */
  readonly setvalRangeFirst: boolean;
  /** The IPC sysctls check their ranges (msgmni/shmmni 0..IPCMNI, msgmax/msgmnb >= 0, semmni, ERANGE); 2.6.26 took any int. */
  readonly sysctlBounds: boolean;
  /** /proc/sysvipc/shm has the rss and swap columns (3.x+). */
  readonly sysvipcShmRss: boolean;
  /**
   * IPC records keep a `struct pid` and show it per reader (pid_vnr at IPC_STAT/GETPID/sysvipc time,
   * 4.17+); before, they held the number the recording task had in its own namespace
   * (task_tgid_vnr(current)) and showed that number to every reader.
   */
  readonly ipcPidsPerReader: boolean;
  /** kernel.auto_msgmni exists (2.6.27+); since 3.19 a dummy that reads 0 and takes 0 or 1 (proc_ipc_auto_msgmni). */
  readonly autoMsgmni: boolean;
  /** kernel.shm_rmid_forced exists (3.1+): 0..1, 1 destroys orphaned segments (shm_destroy_orphaned, exit_shm). */
  readonly shmRmidForced: boolean;
  /** The fs/mqueue sysctls are per IPC namespace (2.6.30+, ipc/mq_sysctl.c); before, one global set (ipc/mqueue.c). */
  readonly mqueuePerNs: boolean;
  /** fs/mqueue/msg_default and msgsize_default exist (3.5+). */
  readonly mqDefaults: boolean;
  /** [min, max] of fs/mqueue/msg_max (and msg_default): modern MIN_MSGMAX..HARD_MSGMAX; 2.6.26 DFLT_MSGMAX..HARD_MSGMAX (131072/sizeof(void *)). */
  readonly mqMsgMax: readonly [number, number];
  /** [min, max] of fs/mqueue/msgsize_max (and msgsize_default): modern MIN_MSGSIZEMAX..HARD_MSGSIZEMAX; 2.6.26 DFLT_MSGSIZEMAX..INT_MAX. */
  readonly mqMsgsizeMax: readonly [number, number];
  /** Compile-time constants msgctl(IPC_INFO/MSG_INFO) reports (include/uapi/linux/msg.h). */
  readonly msginfo: { readonly msgpool: number; readonly msgmap: number; readonly msgtql: number; readonly msgssz: number; readonly msgseg: number };
  /** Compile-time constants semctl(IPC_INFO/SEM_INFO) reports (include/uapi/linux/sem.h). */
  readonly seminfo: { readonly semmap: number; readonly semmnu: number; readonly semume: number; readonly semusz: number };
  /** Default limits of a fresh IPC namespace. */
  readonly msgmax: number;
  readonly msgmnb: number;
  readonly msgmni: number;
  readonly semmsl: number;
  readonly semmns: number;
  readonly semopm: number;
  readonly semmni: number;
  readonly shmmax: bigint;
  readonly shmall: bigint;
  readonly shmmni: number;
}

const ULONG_MAX = (1n << 64n) - 1n;

/** The profiles by name. */
export const PROFILES: Readonly<Record<ProfileName, Profile>> = {
  'linux-6': {
    name: 'linux-6',
    release: '6.18.0-nsd',
    pidAlloc: 'idr-cyclic',
    pidExhausted: 'EAGAIN',
    nsLastPid: true,
    clone3: true,
    capCheckpointRestore: true,
    pidMaxDefault: 32768,
    pidMaxPerNs: true,
    unshareNewPid: true,
    setns: true,
    procNsPid: true,
    softDirty: true,
    nofileDefault: 1024,
    nrOpen: 1048576,
    ipc: {
      alloc: 'cyclic',
      staleId: 'EINVAL',
      seqMax: 65535,
      nextIdSysctls: true,
      msgCopy: true,
      msgtypLongMinAsMax: true,
      statAny: true,
      setallSetsSempid: true,
      setChecksIds: true,
      semcntAllOps: false,
      setvalRangeFirst: true,
      sysctlBounds: true,
      sysvipcShmRss: true,
      ipcPidsPerReader: true,
      autoMsgmni: true,
      shmRmidForced: true,
      mqueuePerNs: true,
      mqDefaults: true,
      mqMsgMax: [1, 65536],
      mqMsgsizeMax: [128, 16 * 1024 * 1024],
      // MSGPOOL = MSGMNI*MSGMNB/1024, MSGTQL = MSGMAP = MSGMNB, MSGSEG capped at 0xffff.
      msginfo: { msgpool: 512000, msgmap: 16384, msgtql: 16384, msgssz: 16, msgseg: 0xffff },
      // SEMMAP = SEMMNU = SEMMNS, SEMUME = SEMOPM, SEMUSZ 20.
      seminfo: { semmap: 32000 * 32000, semmnu: 32000 * 32000, semume: 500, semusz: 20 },
      msgmax: 8192,
      msgmnb: 16384,
      msgmni: 32000,
      semmsl: 32000,
      semmns: 32000 * 32000,
      semopm: 500,
      semmni: 32000,
      shmmax: ULONG_MAX - (1n << 24n),
      shmall: ULONG_MAX - (1n << 24n),
      shmmni: 4096,
    },
  },
  'linux-2.6.26': {
    name: 'linux-2.6.26',
    release: '2.6.26-rc8-mm1-nsd',
    pidAlloc: 'bitmap',
    pidExhausted: 'ENOMEM',
    nsLastPid: false,
    clone3: false,
    capCheckpointRestore: false,
    pidMaxDefault: 32768,
    pidMaxPerNs: false,
    unshareNewPid: false,
    setns: false,
    procNsPid: false,
    softDirty: false,
    nofileDefault: 1024,
    nrOpen: 1048576,
    ipc: {
      alloc: 'lowest-seq',
      staleId: 'EIDRM',
      seqMax: 65535,
      nextIdSysctls: false,
      msgCopy: false,
      msgtypLongMinAsMax: false,
      statAny: false,
      setallSetsSempid: false,
      setChecksIds: false,
      semcntAllOps: true,
      setvalRangeFirst: false,
      sysctlBounds: false,
      sysvipcShmRss: false,
      ipcPidsPerReader: false,
      autoMsgmni: false,
      shmRmidForced: false,
      mqueuePerNs: false,
      mqDefaults: false,
      mqMsgMax: [10, 131072 / 8],
      mqMsgsizeMax: [8192, 0x7fffffff],
      // MSGMNI 16: MSGPOOL = 16*16384/1024 = 256, MSGSEG = 256*1024/16 = 16384.
      msginfo: { msgpool: 256, msgmap: 16384, msgtql: 16384, msgssz: 16, msgseg: 16384 },
      // SEMMNS 32000, SEMOPM 32.
      seminfo: { semmap: 32000, semmnu: 32000, semume: 32, semusz: 20 },
      msgmax: 8192,
      msgmnb: 16384,
      msgmni: 16,
      semmsl: 250,
      semmns: 32000,
      semopm: 32,
      semmni: 128,
      shmmax: 32n * 1024n * 1024n,
      shmall: ((32n * 1024n * 1024n) / 4096n) * 256n,
      shmmni: 4096,
    },
  },
};

/** The profile named `name` (throws on an unknown name). */
export function getProfile(name: ProfileName): Profile {
  const p = PROFILES[name];
  if (!p) throw new TypeError(`unknown kernel profile '${String(name)}' (expected linux-6 or linux-2.6.26)`);
  return p;
}

/** Pids 1..RESERVED_PIDS-1 are not reused after the allocator wraps (kernel/pid.c). */
export const RESERVED_PIDS = 300;
/**
 * num_possible_cpus() of the modelled machine: 1. It sets the floor of pid_max (PIDS_PER_CPU_MIN 8
 * × cpus, below RESERVED_PIDS + 1) and a new pid namespace's starting pid_max
 * (max(parent's, PIDS_PER_CPU_DEFAULT 1024 × cpus), register_pidns_sysctls).
 */
export const POSSIBLE_CPUS = 1;
export const PIDS_PER_CPU_DEFAULT = 1024;
/** PID_MAX_LIMIT on 64-bit (include/linux/threads.h): the largest value pid_max may take. */
export const PID_MAX_LIMIT = 4 * 1024 * 1024;
/** MAX_PID_NS_LEVEL (include/linux/pid_namespace.h). */
export const MAX_PID_NS_LEVEL = 32;
