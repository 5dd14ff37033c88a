/**
 * The SysV IPC utilities, in util-linux's formats: ipcs (-q -s -m -a; -l -u -t -p -c; -i ID),
 * ipcmk (-Q, -S n, -M size, -p mode) and ipcrm (-q -s -m ID, -Q -S -M KEY, -a[=msg|sem|shm]).
 * They are applets: programs in /bin and NOFORK shell builtins, so that
 * `echo "LONG1 4242" > /proc/self/task/$$/next_syscall_data; ipcmk -Q` creates queue 4242.
 *
 * ipcs lists objects the way util-linux does without /proc/sysvipc: `*_INFO` for the highest index,
 * then `*_STAT` on every index. ipcmk picks a pseudo-random key (util-linux uses a random one) and
 * creates with IPC_CREAT|IPC_EXCL, trying another key on EEXIST (which never consumes a preset).
 */
import { ErrnoError, strerror } from '../../abi/errno.js';
import {
  GETNCNT, GETPID, GETVAL, GETZCNT, IPC_CREAT, IPC_EXCL, IPC_INFO, IPC_RMID, IPC_STAT, MSG_INFO, MSG_STAT, SEM_INFO, SEM_STAT,
  SHM_DEST, SHM_INFO, SHM_LOCKED, SHM_STAT,
} from '../../abi/constants.js';
import type { CtlResult, IpcPermDs, MsgInfo, MsqidDs, SemidDs, SemInfo, ShmidDs, ShmInfo, ShmInfoUsage } from '../../abi/ipc.js';
import type { Sys } from '../../syscalls/sys.js';
import { defineApplet, type AppletIo } from '../lib/applet.js';
import { getopt, UsageError } from '../lib/args.js';
import { idNames } from '../lib/files.js';

type Kind = 'msg' | 'shm' | 'sem';

// ---- helpers ----

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** ctime(3) without the newline, in UTC: `Tue Jul  8 11:24:23 2008`. */
export function ctime(sec: number): string {
  const d = new Date(sec * 1000);
  const p2 = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2)} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

/** printf's `%-W.Ps`. */
function field(s: string, width: number, prec = Infinity): string {
  return s.slice(0, prec).padEnd(width);
}

function oct(n: number): string {
  return (n >>> 0).toString(8);
}

function hexKey(key: number): string {
  return `0x${(key >>> 0).toString(16).padStart(8, '0')}`;
}

/** `%#o`: octal with a leading 0, but plain 0 for zero. */
function altOct(n: number): string {
  return n === 0 ? '0' : `0${oct(n)}`;
}

/** util-linux's ipc units: IPC_UNIT_DEFAULT, IPC_UNIT_BYTES, IPC_UNIT_KB, IPC_UNIT_HUMAN. */
type Unit = 'default' | 'bytes' | 'kb' | 'human';

/** size_to_human_string(SIZE_SUFFIX_1LETTER, n) (lib/strutils.c): `1.5K`, `16E`, `100B`. */
export function humanSize(bytes: bigint | number): string {
  const n = BigInt(bytes);
  let exp = 0;
  for (let shft = 10; shft <= 60; shft += 10) {
    if (n < 1n << BigInt(shft)) break;
    exp = shft;
  }
  const letter = 'BKMGTPE'[exp / 10]!;
  let dec = exp ? n >> BigInt(exp) : n;
  let frac = exp ? n & ((1n << BigInt(exp)) - 1n) : 0n;
  if (frac) {
    // Three digits of the fraction, rounded to one (4/5), carried into dec on overflow.
    frac = frac >= 0xffffffffffffffffn / 1000n ? ((frac / 1024n) * 1000n) / (1n << BigInt(exp - 10)) : (frac * 1000n) / (1n << BigInt(exp));
    frac = ((frac + 50n) / 100n) * 10n;
    if (frac === 100n) {
      dec++;
      frac = 0n;
    }
  }
  // "%d.%02d", minus the trailing zero (frac is a multiple of 10).
  return frac ? `${dec}.${frac / 10n}${letter}` : `${dec}${letter}`;
}

/** ipc_print_size() (sys-utils/ipcutils.c): label, value in the unit, end; `width` < 0 left-aligns. */
function printSize(unit: Unit, label: string | null, size: bigint | number, end: string, width = 0): string {
  let out = '';
  if (label === null) out = '';
  else if (label.endsWith('=')) out = label;
  else if (unit === 'bytes') out = `${label} (bytes) = `;
  else if (unit === 'kb') out = `${label} (kbytes) = `;
  else out = `${label} = `;
  const pad = (v: string) => (width < 0 ? v.padEnd(-width) : v.padStart(width));
  if (unit === 'human') out += pad(humanSize(size));
  else out += pad(String(unit === 'kb' ? BigInt(size) / 1024n : BigInt(size)));
  return out + end;
}

interface Obj<T> {
  id: number;
  ds: T;
}

/** Every object of a kind, by `*_INFO` then `*_STAT` on each index (what ipcs does). */
function listObjects<T>(sys: Sys, kind: Kind): Array<Obj<T>> {
  const out: Array<Obj<T>> = [];
  let max: number;
  try {
    max = kind === 'msg'
      ? (sys.msgctl(0, MSG_INFO) as CtlResult<MsgInfo>).ret
      : kind === 'shm' ? (sys.shmctl(0, SHM_INFO) as CtlResult<ShmInfoUsage>).ret
        : (sys.semctl(0, 0, SEM_INFO) as CtlResult<SemInfo>).ret;
  } catch (e) {
    if (e instanceof ErrnoError) return out;
    throw e;
  }
  for (let i = 0; i <= max; i++) {
    try {
      const r = (kind === 'msg' ? sys.msgctl(i, MSG_STAT) : kind === 'shm' ? sys.shmctl(i, SHM_STAT) : sys.semctl(i, 0, SEM_STAT)) as CtlResult<T>;
      out.push({ id: r.ret, ds: r.buf });
    } catch (e) {
      if (!(e instanceof ErrnoError)) throw e;
    }
  }
  return out;
}

function permOf(kind: Kind, ds: unknown): IpcPermDs {
  const d = ds as { msg_perm?: IpcPermDs; shm_perm?: IpcPermDs; sem_perm?: IpcPermDs };
  return (kind === 'msg' ? d.msg_perm : kind === 'shm' ? d.shm_perm : d.sem_perm)!;
}

// ---- ipcs ----

const TITLES: Record<Kind, string> = { msg: 'Message Queues', shm: 'Shared Memory Segments', sem: 'Semaphore Arrays' };

function ipcs(argv: string[], io: AppletIo): number {
  const { opts, operands } = getopt(argv.slice(1), {
    short: 'i:mqsatpclub',
    long: { 'id=': 'i', shmems: 'm', queues: 'q', semaphores: 's', all: 'a', time: 't', pid: 'p', creator: 'c', limits: 'l', summary: 'u', bytes: 'b', human: 'H' },
    permute: true,
  });
  // The last of --human / -b wins, as in util-linux's option loop.
  const unitFlag = argv.slice(1).filter((a) => a === '--human' || a === '-b' || a === '--bytes' || (/^-[a-zA-Z]+$/.test(a) && a.includes('b'))).pop();
  const unit: Unit = unitFlag === undefined ? 'default' : unitFlag === '--human' ? 'human' : 'bytes';
  if (operands.length) throw new UsageError(`unknown argument: ${operands[0]}`);
  let msg = opts.has('q');
  let shm = opts.has('m');
  let sem = opts.has('s');
  if (opts.has('a')) msg = shm = sem = true;
  const last = (['t', 'p', 'c', 'l', 'u'] as const).filter((f) => opts.has(f)).pop() ?? '';
  const sys = io.sys;
  const users = idNames(sys, '/etc/passwd');
  const groups = idNames(sys, '/etc/group');
  const idArg = opts.get('i')?.[0];
  if (idArg !== undefined) {
    const id = Number(idArg);
    if (!/^[0-9]+$/.test(idArg)) throw new UsageError(`failed to parse id: '${idArg}'`);
    if (Number(msg) + Number(shm) + Number(sem) !== 1) {
      io.err('ipcs: when using an ID, a single resource must be specified\n');
      return 1;
    }
    return printOne(io, shm ? 'shm' : sem ? 'sem' : 'msg', id, unit);
  }
  if (!msg && !shm && !sem) msg = shm = sem = true;
  const w: string[] = ['\n'];
  const owner = (uid: number, width: number) => field(users.get(uid) ?? String(uid), width, 10);
  for (const kind of (['msg', 'shm', 'sem'] as const).filter((k) => (k === 'msg' ? msg : k === 'shm' ? shm : sem))) {
    if (last === 'l') w.push(limits(sys, kind, unit));
    else if (last === 'u') w.push(summary(sys, kind, unit));
    else {
      const objs = listObjects<MsqidDs & ShmidDs & SemidDs>(sys, kind);
      const idw = kind !== 'shm' && (last === 't' || (last === 'p' && kind === 'msg')) ? 8 : 10;
      const name = kind === 'msg' ? 'msqid' : kind === 'shm' ? 'shmid' : 'semid';
      if (last === 'c') {
        w.push(`------ ${kind === 'msg' ? 'Message Queues' : kind === 'shm' ? 'Shared Memory Segment' : 'Semaphore Arrays'} Creators/Owners --------\n`);
        w.push([name, 'perms', 'cuid', 'cgid', 'uid', 'gid'].map((h) => field(h, 10)).join(' ') + '\n');
        for (const o of objs) {
          const p = permOf(kind, o.ds);
          const nm = (m: Map<number, string>, v: number) => field(m.get(v) ?? String(v), 10);
          w.push(`${field(String(o.id), 10)} ${field(oct(p.mode & 0o777), 10)} ${nm(users, p.cuid)} ${nm(groups, p.cgid)} ${nm(users, p.uid)} ${nm(groups, p.gid)}\n`);
        }
      } else if (last === 't') {
        if (kind === 'msg') {
          w.push('------ Message Queues Send/Recv/Change Times --------\n');
          w.push(`${field('msqid', 8)} ${field('owner', 10)} ${field('send', 20)} ${field('recv', 20)} ${field('change', 20)}\n`);
        } else if (kind === 'shm') {
          w.push('------ Shared Memory Attach/Detach/Change Times --------\n');
          w.push(`${field('shmid', 10)} ${field('owner', 10)} ${field('attached', 20)} ${field('detached', 20)} ${field('changed', 20)}\n`);
        } else {
          w.push('------ Semaphore Operation/Change Times --------\n');
          w.push(`${field('semid', 8)} ${field('owner', 10)} ${field('last-op', 26, 24)} ${field('last-changed', 26, 24)}\n`);
        }
        const t16 = (sec: number) => ` ${field(sec ? ctime(sec).slice(4) : 'Not set', 20, 16)}`;
        for (const o of objs) {
          const p = permOf(kind, o.ds);
          const head = `${field(String(o.id), idw)} ${owner(p.uid, 10)}`;
          if (kind === 'msg') w.push(head + t16(o.ds.msg_stime) + t16(o.ds.msg_rtime) + t16(o.ds.msg_ctime) + '\n');
          else if (kind === 'shm') w.push(head + t16(o.ds.shm_atime) + t16(o.ds.shm_dtime) + t16(o.ds.shm_ctime) + '\n');
          else w.push(`${head}  ${field(o.ds.sem_otime ? ctime(o.ds.sem_otime) : 'Not set', 26, 24)} ${field(o.ds.sem_ctime ? ctime(o.ds.sem_ctime) : 'Not set', 26, 24)}\n`);
        }
      } else if (last === 'p') {
        if (kind === 'msg') {
          w.push('------ Message Queues PIDs --------\n');
          w.push(['msqid', 'owner', 'lspid', 'lrpid'].map((h) => field(h, 10)).join(' ') + '\n');
          for (const o of objs) w.push(`${field(String(o.id), 8)} ${owner(permOf(kind, o.ds).uid, 10)}  ${String(o.ds.msg_lspid).padStart(5)}     ${String(o.ds.msg_lrpid).padStart(5)}\n`);
        } else if (kind === 'shm') {
          w.push('------ Shared Memory Creator/Last-op PIDs --------\n');
          w.push(['shmid', 'owner', 'cpid', 'lpid'].map((h) => field(h, 10)).join(' ') + '\n');
          for (const o of objs) w.push(`${field(String(o.id), 10)} ${owner(permOf(kind, o.ds).uid, 10)} ${field(String(o.ds.shm_cpid), 10)} ${field(String(o.ds.shm_lpid), 10)}\n`);
        }
      } else {
        w.push(`------ ${TITLES[kind]} --------\n`);
        const human = unit === 'human';
        if (kind === 'msg') w.push(`${['key', 'msqid', 'owner', 'perms'].map((h) => field(h, 10)).join(' ')} ${field(human ? 'size' : 'used-bytes', 12)} ${field('messages', 12)}\n`);
        else if (kind === 'shm') w.push(`${['key', 'shmid', 'owner', 'perms', human ? 'size' : 'bytes', 'nattch'].map((h) => field(h, 10)).join(' ')} ${field('status', 12)}\n`);
        else w.push(['key', 'semid', 'owner', 'perms', 'nsems'].map((h) => field(h, 10)).join(' ') + '\n');
        for (const o of objs) {
          const p = permOf(kind, o.ds);
          const head = `${hexKey(p.key)} ${field(String(o.id), 10)} ${owner(p.uid, 10)} ${field(oct(p.mode & 0o777), 10)} `;
          if (kind === 'msg') w.push(`${head}${human ? printSize(unit, null, o.ds.msg_cbytes, '      ', 6) : printSize(unit, null, o.ds.msg_cbytes, '', -12)} ${field(String(o.ds.msg_qnum), 12)}\n`);
          else if (kind === 'shm') {
            const size = human ? printSize(unit, null, o.ds.shm_segsz, '    ', 6) : printSize(unit, null, o.ds.shm_segsz, '', -10);
            w.push(`${head}${size} ${field(String(o.ds.shm_nattch), 10)} ${field(p.mode & SHM_DEST ? 'dest' : ' ', 6)} ${field(p.mode & SHM_LOCKED ? 'locked' : ' ', 6)}\n`);
          } else w.push(`${head}${field(String(o.ds.sem_nsems), 10)}\n`);
        }
      }
    }
    w.push('\n');
  }
  io.out(w.join(''));
  return 0;
}

function limits(sys: Sys, kind: Kind, unit: Unit): string {
  const or = (dflt: Unit): Unit => (unit === 'default' ? dflt : unit);
  try {
    if (kind === 'msg') {
      const i = (sys.msgctl(0, IPC_INFO) as CtlResult<MsgInfo>).buf;
      return `------ Messages Limits --------\nmax queues system wide = ${i.msgmni}\n`
        + printSize(or('bytes'), 'max size of message', i.msgmax, '\n') + printSize(or('bytes'), 'default max size of queue', i.msgmnb, '\n');
    }
    if (kind === 'shm') {
      const i = (sys.shmctl(0, IPC_INFO) as CtlResult<ShmInfo>).buf;
      const ULONG = (1n << 64n) - 1n;
      let total: string;
      if (unit === 'default' || unit === 'kb') {
        // shmall pages in KiB, saturating on overflow (do_shm LIMITS).
        let t = BigInt.asUintN(64, i.shmall * 4n);
        if (i.shmall !== 0n && t / i.shmall !== 4n) t = ULONG - (ULONG % 4n);
        total = printSize('default', 'max total shared memory (kbytes)', t, '\n');
      } else {
        let t = BigInt.asUintN(64, i.shmall * 4096n);
        if (i.shmall !== 0n && t / i.shmall !== 4096n) t = ULONG - (ULONG % 4096n);
        total = printSize(unit, 'max total shared memory', t, '\n');
      }
      return `------ Shared Memory Limits --------\nmax number of segments = ${i.shmmni}\n`
        + printSize(or('kb'), 'max seg size', i.shmmax, '\n') + total + printSize(or('bytes'), 'min seg size', i.shmmin, '\n');
    }
    const i = (sys.semctl(0, 0, IPC_INFO) as CtlResult<SemInfo>).buf;
    return `------ Semaphore Limits --------\nmax number of arrays = ${i.semmni}\nmax semaphores per array = ${i.semmsl}\nmax semaphores system wide = ${i.semmns}\nmax ops per semop call = ${i.semopm}\nsemaphore max value = ${i.semvmx}\n`;
  } catch (e) {
    if (!(e instanceof ErrnoError)) throw e;
    return `unable to fetch ${kind === 'msg' ? 'message' : kind === 'shm' ? 'shared memory' : 'semaphore'} limits\n`;
  }
}

function summary(sys: Sys, kind: Kind, unit: Unit): string {
  if (kind === 'msg') {
    const i = (sys.msgctl(0, MSG_INFO) as CtlResult<MsgInfo>).buf;
    return `------ Messages Status --------\nallocated queues = ${i.msgpool}\nused headers = ${i.msgmap}\n${printSize(unit, 'used space', i.msgtql, unit === 'default' ? ' bytes\n' : '\n')}`;
  }
  if (kind === 'shm') {
    const i = (sys.shmctl(0, SHM_INFO) as CtlResult<ShmInfoUsage>).buf;
    return `------ Shared Memory Status --------\nsegments allocated ${i.used_ids}\npages allocated ${i.shm_tot}\npages resident  ${i.shm_rss}\npages swapped   ${i.shm_swp}\nSwap performance: ${i.swap_attempts} attempts\t ${i.swap_successes} successes\n`;
  }
  const i = (sys.semctl(0, 0, SEM_INFO) as CtlResult<SemInfo>).buf;
  return `------ Semaphore Status --------\nused arrays = ${i.semusz}\nallocated semaphores = ${i.semaem}\n`;
}

/** `ipcs -q|-m|-s -i ID` (print_msg, print_shm, print_sem): times as `%-26.24s`, modes as `%#o`. */
function printOne(io: AppletIo, kind: Kind, id: number, unit: Unit): number {
  const sys = io.sys;
  const t = (sec: number) => field(sec ? ctime(sec) : 'Not set', 26, 24);
  const human = unit === 'human';
  try {
    if (kind === 'shm') {
      const d = sys.shmctl(id, IPC_STAT);
      const p = d.shm_perm;
      io.out(`\nShared memory Segment shmid=${id}\nuid=${p.uid}\tgid=${p.gid}\tcuid=${p.cuid}\tcgid=${p.cgid}\nmode=${altOct(p.mode)}\taccess_perms=${altOct(p.mode & 0o777)}\n`
        + `${printSize(unit, human ? 'size=' : 'bytes=', d.shm_segsz, '\t')}lpid=${d.shm_lpid}\tcpid=${d.shm_cpid}\tnattch=${d.shm_nattch}\n`
        + `att_time=${t(d.shm_atime)}\ndet_time=${t(d.shm_dtime)}\nchange_time=${field(ctime(d.shm_ctime), 26, 24)}\n\n`);
    } else if (kind === 'msg') {
      const d = sys.msgctl(id, IPC_STAT);
      const p = d.msg_perm;
      io.out(`\nMessage Queue msqid=${id}\nuid=${p.uid}\tgid=${p.gid}\tcuid=${p.cuid}\tcgid=${p.cgid}\tmode=${altOct(p.mode)}\n`
        + printSize(unit, human ? 'csize=' : 'cbytes=', d.msg_cbytes, '\t') + printSize(unit, human ? 'qsize=' : 'qbytes=', d.msg_qbytes, '\t')
        + `qnum=${d.msg_qnum}\tlspid=${d.msg_lspid}\tlrpid=${d.msg_lrpid}\n`
        + `send_time=${t(d.msg_stime)}\nrcv_time=${t(d.msg_rtime)}\nchange_time=${t(d.msg_ctime)}\n\n`);
    } else {
      const d = sys.semctl(id, 0, IPC_STAT);
      const p = d.sem_perm;
      let s = `\nSemaphore Array semid=${id}\nuid=${p.uid}\t gid=${p.gid}\t cuid=${p.cuid}\t cgid=${p.cgid}\nmode=${altOct(p.mode)}, access_perms=${altOct(p.mode & 0o777)}\n`
        + `nsems = ${d.sem_nsems}\notime = ${t(d.sem_otime)}\nctime = ${field(ctime(d.sem_ctime), 26, 24)}\n`
        + ['semnum', 'value', 'ncount', 'zcount', 'pid'].map((h) => field(h, 10)).join(' ') + '\n';
      for (let i = 0; i < d.sem_nsems; i++) {
        const v = [i, sys.semctl(id, i, GETVAL), sys.semctl(id, i, GETNCNT), sys.semctl(id, i, GETZCNT), sys.semctl(id, i, GETPID)];
        s += v.map((x) => field(String(x), 10)).join(' ') + '\n';
      }
      io.out(s + '\n');
    }
  } catch (e) {
    if (!(e instanceof ErrnoError)) throw e;
    io.err(`ipcs: id ${id} not found\n`);
  }
  return 0;
}

// ---- ipcmk ----

/** strtosize(): a number with an optional K/M/G (KiB…) or KB/MB/GB suffix. */
function parseSize(s: string): number {
  const m = /^([0-9]+)(?:([KMGT])(iB|B)?)?$/i.exec(s);
  if (!m) throw new UsageError(`failed to parse size: '${s}'`);
  const pow = m[2] ? 'KMGT'.indexOf(m[2].toUpperCase()) + 1 : 0;
  return Number(m[1]) * (m[3]?.toUpperCase() === 'B' ? 1000 : 1024) ** pow;
}

/** A pseudo-random key for this process (xorshift over pid and attempt). */
function pseudoKey(pid: number, salt: number): number {
  let x = (Math.imul(pid, 0x9e3779b1) ^ Math.imul(salt + 1, 0x85ebca6b)) >>> 0;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  return (x >>> 1) || 1;
}

function ipcmk(argv: string[], io: AppletIo): number {
  const { opts, operands } = getopt(argv.slice(1), {
    short: 'M:QS:p:',
    long: { 'shmem=': 'M', queue: 'Q', 'semaphore=': 'S', 'mode=': 'p' },
    permute: true,
  });
  if (operands.length) throw new UsageError(`unknown argument: ${operands[0]}`);
  const modeArg = opts.get('p')?.at(-1);
  const perm = modeArg === undefined ? 0o644 : parseInt(modeArg, 8);
  if (Number.isNaN(perm)) throw new UsageError(`failed to parse mode: '${modeArg}'`);
  const shmSize = opts.has('M') ? parseSize(opts.get('M')!.at(-1)!) : null;
  const nsems = opts.has('S') ? Number(opts.get('S')!.at(-1)) : null;
  if (nsems !== null && !Number.isInteger(nsems)) throw new UsageError(`failed to parse elements: '${opts.get('S')!.at(-1)}'`);
  if (shmSize === null && nsems === null && !opts.has('Q')) throw new UsageError('bad usage');
  const sys = io.sys;
  const pid = sys.getpid();
  let salt = 0;
  const create = (fn: (key: number) => number): number => {
    for (let tries = 0; ; tries++) {
      try {
        return fn(pseudoKey(pid, salt++));
      } catch (e) {
        if (!(e instanceof ErrnoError) || e.code !== 'EEXIST' || tries > 64) throw e;
      }
    }
  };
  const flags = perm | IPC_CREAT | IPC_EXCL;
  const attempt = (what: string, label: string, fn: (key: number) => number): boolean => {
    try {
      io.out(`${label}: ${create(fn)}\n`);
      return true;
    } catch (e) {
      if (!(e instanceof ErrnoError)) throw e;
      io.err(`ipcmk: create ${what} failed: ${strerror(e.code)}\n`);
      return false;
    }
  };
  if (shmSize !== null && !attempt('share memory', 'Shared memory id', (key) => sys.shmget(key, shmSize, flags))) return 1;
  if (opts.has('Q') && !attempt('message queue', 'Message queue id', (key) => sys.msgget(key, flags))) return 1;
  if (nsems !== null && !attempt('semaphore', 'Semaphore id', (key) => sys.semget(key, nsems, flags))) return 1;
  return 0;
}

// ---- ipcrm ----

function ipcrm(argv: string[], io: AppletIo): number {
  const sys = io.sys;
  if (argv.length === 1) {
    io.err("ipcrm: bad usage\nTry 'ipcrm --help' for more information.\n");
    return 1;
  }
  // The old syntax: ipcrm {shm|msg|sem} ID...
  if (['shm', 'msg', 'sem'].includes(argv[1]!)) {
    let bad = 0;
    for (const a of argv.slice(2)) {
      if (!/^[0-9]+$/.test(a)) {
        io.err(`ipcrm: invalid id: ${a}\n`);
        bad++;
      } else if (!removeId(sys, io, argv[1] as Kind, false, Number(a))) bad++;
    }
    if (bad) return 1;
    io.out('resource(s) deleted\n');
    return 0;
  }
  let ret = 0;
  const args = argv.slice(1);
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const m = /^-([qmsQMS])(.*)$/.exec(a);
    if (m) {
      const letter = m[1]!;
      const value = m[2] || args[++i];
      if (value === undefined) throw new UsageError(`option requires an argument -- '${letter}'`);
      const kind: Kind = 'qQ'.includes(letter) ? 'msg' : 'mM'.includes(letter) ? 'shm' : 'sem';
      const byKey = letter === letter.toUpperCase();
      let id: number;
      if (byKey) {
        id = keyToId(sys, io, kind, value);
        if (id < 0) {
          ret++;
          continue;
        }
      } else {
        if (!/^-?[0-9]+$/.test(value)) {
          io.err(`ipcrm: failed to parse argument: '${value}'\n`);
          return 1;
        }
        id = Number(value);
      }
      if (!removeId(sys, io, kind, byKey, id)) ret++;
      continue;
    }
    const all = /^(?:-a|--all)(?:=(shm|msg|sem))?$/.exec(a);
    if (all) {
      for (const kind of all[1] ? [all[1] as Kind] : (['shm', 'sem', 'msg'] as const)) {
        for (const o of listObjects<unknown>(sys, kind)) if (!removeId(sys, io, kind, false, o.id)) ret++;
      }
      continue;
    }
    io.err(`ipcrm: unknown argument: ${a}\nTry 'ipcrm --help' for more information.\n`);
    return 1;
  }
  return ret === 0 ? 0 : 1;
}

function removeId(sys: Sys, io: AppletIo, kind: Kind, byKey: boolean, id: number): boolean {
  try {
    if (kind === 'shm') sys.shmctl(id, IPC_RMID);
    else if (kind === 'msg') sys.msgctl(id, IPC_RMID);
    else sys.semctl(id, 0, IPC_RMID);
    return true;
  } catch (e) {
    if (!(e instanceof ErrnoError)) throw e;
    const what = byKey ? 'key' : 'id';
    const msg = e.code === 'EACCES' || e.code === 'EPERM' ? `permission denied for ${what}` : e.code === 'EINVAL' ? `invalid ${what}` : e.code === 'EIDRM' ? `already removed ${what}` : `${what} failed: ${strerror(e.code)}`;
    io.err(`ipcrm: ${msg} (${id})\n`);
    return false;
  }
}

function keyToId(sys: Sys, io: AppletIo, kind: Kind, s: string): number {
  const key = /^0[xX][0-9a-fA-F]+$/.test(s) ? parseInt(s, 16) : /^[0-9]+$/.test(s) ? Number(s) : NaN;
  if (Number.isNaN(key)) {
    io.err(`ipcrm: failed to parse argument: '${s}'\n`);
    return -1;
  }
  if (key === 0) {
    io.err(`ipcrm: illegal key (${s})\n`);
    return -1;
  }
  try {
    return kind === 'shm' ? sys.shmget(key | 0, 0, 0) : kind === 'msg' ? sys.msgget(key | 0, 0) : sys.semget(key | 0, 0, 0);
  } catch (e) {
    if (!(e instanceof ErrnoError)) throw e;
    const msg = e.code === 'EACCES' ? 'permission denied for key' : e.code === 'EIDRM' ? 'already removed key' : 'invalid key';
    io.err(`ipcrm: ${msg} (${s})\n`);
    return -1;
  }
}

export { ipcs, ipcmk, ipcrm };

defineApplet('/bin/ipcs', ipcs);
defineApplet('/bin/ipcmk', ipcmk);
defineApplet('/bin/ipcrm', ipcrm);
