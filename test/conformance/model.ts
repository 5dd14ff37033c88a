/**
 * The model half of the conformance suite: an interpreter of the same scripts the native harness
 * runs (README.md), against a fresh kernel model, producing results in the same format.
 *
 * Every op is made through `task.sys` of init (pid 1, tgid 1: pass it to normalise()), whose IPC
 * namespace is as fresh as the harness's `unshare --ipc` one. Arguments are cast as the harness
 * casts them (int, unsigned short, short; size_t sizes as negative numbers stay negative). A
 * `child` op forks, runs the op in the child, exits it (SEM_UNDO is applied) and reaps it.
 *
 * The harness's 100 ms sleep guard is emulated: a call that would sleep comes back from a direct
 * `task.sys` call as WouldBlockError (nothing changed), which is what the harness reports as
 * `-EINTR blocked=1`; a semtimedop whose own timeout is shorter than the guard would have expired
 * first, so it is reported as the model's timeout result, EAGAIN (the deadline path itself is
 * exercised under the scheduler in test/kernel/ipc/).
 */
import { ErrnoError, WouldBlockError } from '../../src/abi/errno.js';
import { Kernel, type Task } from '../../src/syscalls/scheduler.js';
import type { ProfileName } from '../../src/kernel/profile.js';
import * as C from '../../src/abi/constants.js';
import { formatResult, parseResultLine, type NativeResult } from './results.js';
import { parseAddr, parseBody, parseList, parseLong, parseScript, parseSops, parseTimeout, parseValue, Refs, ScriptError, s32, u16, type ScriptOp } from './script.js';

/** The harness's fixed-address window (the model uses the same numbers; its mm has it free). */
export const WINDOW_BASE = 0x200000000000;
export const WINDOW_SIZE = 2 ** 32;
const GUARD_NS = 100_000_000;
const MAX_BODY = 1 << 20;

export interface ModelOptions {
  profile?: ProfileName;
  /** Effective (and permitted) capabilities of the interpreter, e.g. the harness's CapEff. */
  caps?: bigint;
}

export type ModelRun = NativeResult[] & { pid: number; kernel: Kernel };

interface Outcome {
  ret?: number;
  errno?: string;
  obs?: Record<string, unknown>;
  /** The value later references see (shmat: the address). */
  ref?: number;
}

const latin1 = new TextDecoder('latin1');

function perm(p: { key: number; uid: number; gid: number; cuid: number; cgid: number; mode: number; seq: number }): Record<string, number> {
  return { key: p.key >>> 0, uid: p.uid, gid: p.gid, cuid: p.cuid, cgid: p.cgid, mode: p.mode, seq: p.seq };
}

/** An unsigned long observation: a number when safe, else its decimal text (as parseResultLine keeps it). */
function ulong(v: bigint | number): number | string {
  const b = BigInt(v);
  return b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b.toString();
}

function want(op: ScriptOp, n: number, usage: string): void {
  if (op.args.length !== n) throw new ScriptError(`usage: ${usage}`);
}

/** Runs one op on `task`; throws ScriptError for a line the harness would reject. */
function execOp(k: Kernel, task: Task, op: ScriptOp, refs: Refs): Outcome {
  const sys = task.sys;
  const a = op.args;
  const v = (i: number) => parseValue(a[i]!, refs);
  switch (op.op) {
    case 'msgget':
      want(op, 2, 'msgget KEY FLAGS');
      return { ret: sys.msgget(s32(v(0)), s32(v(1))) };
    case 'msgsnd': {
      want(op, 4, 'msgsnd QID MTYPE BODY FLAGS');
      const id = v(0);
      const mtype = parseLong(a[1]!, refs);
      const flg = v(3);
      const body = parseBody(a[2]!, refs);
      if (body.size > MAX_BODY) throw new ScriptError('body too large');
      return { ret: sys.msgsnd(s32(id), mtype, body.bytes, s32(flg), body.size) };
    }
    case 'msgrcv': {
      want(op, 4, 'msgrcv QID SIZE TYP FLAGS');
      const size = v(1);
      if (size > MAX_BODY) throw new ScriptError('size too large');
      const m = sys.msgrcv(s32(v(0)), size, parseLong(a[2]!, refs), s32(v(3)));
      // The native side keeps an integer beyond 2^53 as its decimal text.
      return { ret: m.mtext.length, obs: { mtype: typeof m.mtype === 'bigint' ? String(m.mtype) : m.mtype, mtext: m.mtext } };
    }
    case 'msgctl': {
      if (a.length < 2) throw new ScriptError('usage: msgctl QID CMD');
      const id = s32(v(0));
      const cmd = s32(v(1));
      if (cmd === C.IPC_SET) {
        want(op, 6, 'msgctl QID IPC_SET UID GID MODE QBYTES');
        const buf = { msg_perm: { uid: v(2) >>> 0, gid: v(3) >>> 0, mode: v(4) >>> 0 }, msg_qbytes: v(5) };
        return { ret: sys.msgctl(id, cmd, buf) as number };
      }
      want(op, 2, 'msgctl QID CMD');
      const r = sys.msgctl(id, cmd);
      return ctlOutcome(r, 'msg');
    }
    case 'semget':
      want(op, 3, 'semget KEY NSEMS FLAGS');
      return { ret: sys.semget(s32(v(0)), s32(v(1)), s32(v(2))) };
    case 'semop':
      want(op, 2, 'semop SID SOPS');
      return { ret: sys.semop(s32(v(0)), parseSops(a[1]!, refs)) };
    case 'semtimedop': {
      want(op, 3, 'semtimedop SID SOPS TIMEOUT');
      const timeout = parseTimeout(a[2]!);
      try {
        return { ret: sys.semtimedop(s32(v(0)), parseSops(a[1]!, refs), timeout) };
      } catch (e) {
        // The harness's guard: a timeout shorter than 100 ms expires first (EAGAIN).
        if (e instanceof WouldBlockError && timeout && timeout.tv_sec * 1e9 + timeout.tv_nsec < GUARD_NS) return { errno: 'EAGAIN' };
        throw e;
      }
    }
    case 'semctl': {
      if (a.length < 3) throw new ScriptError('usage: semctl SID NUM CMD');
      const id = s32(v(0));
      const num = s32(v(1));
      const cmd = s32(v(2));
      if (cmd === C.SETVAL) {
        want(op, 4, 'semctl SID NUM SETVAL VAL');
        return { ret: sys.semctl(id, num, cmd, s32(v(3))) as number };
      }
      if (cmd === C.SETALL) {
        want(op, 4, 'semctl SID NUM SETALL V0,V1,…');
        // The harness passes a zeroed array of 65536 unsigned shorts.
        const vals = new Array<number>(65536).fill(0);
        parseList(a[3]!, refs).forEach((x, i) => (vals[i] = u16(x)));
        return { ret: sys.semctl(id, num, cmd, vals) as number };
      }
      if (cmd === C.IPC_SET) {
        want(op, 6, 'semctl SID NUM IPC_SET UID GID MODE');
        return { ret: sys.semctl(id, num, cmd, { sem_perm: { uid: v(3) >>> 0, gid: v(4) >>> 0, mode: v(5) >>> 0 } }) as number };
      }
      want(op, 3, 'semctl SID NUM CMD');
      const r = sys.semctl(id, num, cmd);
      if (cmd === C.GETALL) return { ret: 0, obs: { values: r as number[] } };
      if (cmd === C.GETPID) return { ret: r as number, obs: { sempid: r as number } };
      return ctlOutcome(r, 'sem');
    }
    case 'shmget':
      want(op, 3, 'shmget KEY SIZE FLAGS');
      return { ret: sys.shmget(s32(v(0)), v(1), s32(v(2))) };
    case 'shmat': {
      want(op, 3, 'shmat SHMID ADDR FLAGS');
      const addr = sys.shmat(s32(v(0)), parseAddr(a[1]!, refs, WINDOW_BASE), s32(v(2)));
      const inWindow = addr >= WINDOW_BASE && addr < WINDOW_BASE + WINDOW_SIZE;
      return { ret: 0, ref: addr, obs: { addr: inWindow ? `+0x${(addr - WINDOW_BASE).toString(16)}` : 'auto' } };
    }
    case 'shmdt':
      want(op, 1, 'shmdt ADDR');
      return { ret: sys.shmdt(parseAddr(a[0]!, refs, WINDOW_BASE)) };
    case 'shmctl': {
      if (a.length < 2) throw new ScriptError('usage: shmctl SHMID CMD');
      const id = s32(v(0));
      const cmd = s32(v(1));
      if (cmd === C.IPC_SET) {
        want(op, 5, 'shmctl SHMID IPC_SET UID GID MODE');
        return { ret: sys.shmctl(id, cmd, { shm_perm: { uid: v(2) >>> 0, gid: v(3) >>> 0, mode: v(4) >>> 0 } }) as number };
      }
      want(op, 2, 'shmctl SHMID CMD');
      return ctlOutcome(sys.shmctl(id, cmd), 'shm');
    }
    case 'write': {
      want(op, 2, 'write ADDR BODY');
      const addr = parseAddr(a[0]!, refs, WINDOW_BASE);
      const body = parseBody(a[1]!, refs);
      task.memory.write(addr, body.bytes);
      return { ret: body.bytes.length };
    }
    case 'read': {
      want(op, 2, 'read ADDR LEN');
      const addr = parseAddr(a[0]!, refs, WINDOW_BASE);
      const len = v(1);
      if (len < 0 || len > MAX_BODY) throw new ScriptError(`bad length ${len}`);
      const data = task.memory.read(addr, len);
      return { ret: len, obs: { data } };
    }
    case 'seteuid':
      want(op, 1, 'seteuid UID');
      return { ret: sys.setresuid(-1, v(0) >>> 0, -1) };
    case 'setegid':
      want(op, 1, 'setegid GID');
      return { ret: sys.call('setresgid', -1, v(0) >>> 0, -1) as number };
    case 'setgroups':
      want(op, 1, 'setgroups GID,…');
      return { ret: sys.setgroups(parseList(a[0]!, refs).map((g) => g >>> 0)) };
    case 'sysctl': {
      if (a.length < 2 || !/^[a-z_]+$/.test(a[0]!)) throw new ScriptError('usage: sysctl NAME VALUE...');
      const fd = sys.open(`/proc/sys/kernel/${a[0]}`, C.O_WRONLY);
      try {
        sys.call('write', fd, new TextEncoder().encode(a.slice(1).join(' ') + '\n'));
      } finally {
        sys.call('close', fd);
      }
      return { ret: 0 };
    }
    case 'readsysctl': {
      if (a.length !== 1 || !/^[a-z_]+$/.test(a[0]!)) throw new ScriptError('usage: readsysctl NAME');
      const fd = sys.open(`/proc/sys/kernel/${a[0]}`, C.O_RDONLY);
      let text: string;
      try {
        text = latin1.decode(sys.call('read', fd, 1023) as Uint8Array);
      } finally {
        sys.call('close', fd);
      }
      const words = text.split(/[ \t\n]+/).filter((w) => w !== '');
      const value = words.length === 1 ? words[0]! : `[${words.join(',')}]`;
      return { ret: 0, obs: { value: parseResultLine(`0 x 0 value=${value}`).obs!['value'] } };
    }
    default:
      throw new ScriptError(`unknown operation '${op.op}'`);
  }
}

/** Observations of a `*ctl` result, as the harness prints them. */
function ctlOutcome(r: unknown, kind: 'msg' | 'sem' | 'shm'): Outcome {
  if (typeof r === 'number') return { ret: r };
  const o = r as Record<string, unknown>;
  const withRet = 'ret' in o && 'buf' in o;
  const ret = withRet ? (o['ret'] as number) : 0;
  const buf = (withRet ? o['buf'] : o) as Record<string, unknown>;
  const obs: Record<string, unknown> = {};
  for (const [key, val] of Object.entries(buf)) {
    if (key.endsWith('_perm')) obs[key] = perm(val as Parameters<typeof perm>[0]);
    else obs[key] = typeof val === 'bigint' ? ulong(val) : val;
  }
  void kind;
  return { ret, obs };
}

/** Runs a whole script in a fresh model kernel. */
export function runModel(script: string, opts: ModelOptions = {}): ModelRun {
  const k = new Kernel({ profile: opts.profile ?? 'linux-6' });
  const init = k.init;
  if (opts.caps !== undefined) init.sys.capset(opts.caps, opts.caps);
  // The harness catches SIGSEGV (faults become EFAULT results): give init and its children a handler.
  init.sys.rt_sigaction(C.SIGSEGV, 2);
  const ops = parseScript(script);
  const refs = new Refs();
  const results: NativeResult[] = [];
  for (const op of ops) {
    const opName = op.child ? `child:${op.op}` : op.op;
    let out: Outcome;
    let childPid = 0;
    try {
      if (op.child) {
        const pid = init.sys.fork();
        const child = k.task(pid)!;
        childPid = pid;
        try {
          out = runCatching(k, child, op, refs);
        } finally {
          child.sys.exit_group(0);
          init.sys.wait4(pid, 0);
        }
      } else {
        out = runCatching(k, init, op, refs);
      }
    } catch (e) {
      if (!(e instanceof ScriptError)) throw e;
      results.push({ index: op.index, op: opName, error: e.message });
      refs.set(op.index, op.name, undefined);
      continue;
    }
    const r: NativeResult = { index: op.index, op: opName };
    if (out.errno !== undefined) r.errno = out.errno;
    else r.ret = out.ret!;
    const obs = { ...(out.errno === undefined || out.obs?.['blocked'] ? out.obs : {}) };
    if (op.child) obs['child'] = childPid;
    if (Object.keys(obs).length > 0) r.obs = obs;
    // Canonical form: exactly what the harness's line would parse to.
    results.push(parseResultLine(formatResult(r)));
    refs.set(op.index, op.child ? undefined : op.name, op.child || out.errno !== undefined ? undefined : out.ref ?? out.ret);
  }
  return Object.assign(results, { pid: init.tgid, kernel: k });
}

function runCatching(k: Kernel, task: Task, op: ScriptOp, refs: Refs): Outcome {
  try {
    return execOp(k, task, op, refs);
  } catch (e) {
    if (e instanceof ErrnoError) return { errno: e.code };
    if (e instanceof WouldBlockError) return { errno: 'EINTR', obs: { blocked: 1 } };
    throw e;
  }
}
