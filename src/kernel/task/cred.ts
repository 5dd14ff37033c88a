/**
 * Credentials (struct cred), capabilities and the setuid family (kernel/sys.c,
 * security/commoncap.c).
 *
 * Design note. Capabilities are a 64-bit set (bigint) of CAP_* bits; there are no user namespaces,
 * so `ns_capable()` is `capable()`. Changing uids applies cap_task_fix_setuid(): leaving root for
 * all of ruid/euid/suid clears permitted and effective; euid 0 → non-0 clears effective; euid
 * non-0 → 0 restores effective from permitted; fsuid 0 ↔ non-0 drops/restores the fs capabilities.
 */
import { err } from '../../abi/errno.js';
import { CAP_CHECKPOINT_RESTORE, CAP_LAST_CAP, CAP_SETGID, CAP_SETUID, CAP_SYS_ADMIN } from '../../abi/constants.js';
import type { KernelCore } from '../core.js';
import type { Cred, TaskState } from '../state.js';

export const ALL_CAPS = (1n << BigInt(CAP_LAST_CAP + 1)) - 1n;
/** CAP_FS_MASK: CHOWN, DAC_OVERRIDE, DAC_READ_SEARCH, FOWNER, FSETID, LINUX_IMMUTABLE, MAC_OVERRIDE. */
const CAP_FS_MASK = (1n << 0n) | (1n << 1n) | (1n << 2n) | (1n << 3n) | (1n << 4n) | (1n << 9n) | (1n << 32n);
/** NGROUPS_MAX. */
export const NGROUPS_MAX = 65536;

export function rootCred(): Cred {
  return {
    uid: 0, euid: 0, suid: 0, fsuid: 0,
    gid: 0, egid: 0, sgid: 0, fsgid: 0,
    groups: [],
    capEffective: ALL_CAPS,
    capPermitted: ALL_CAPS,
  };
}

export function copyCred(c: Cred): Cred {
  return { ...c, groups: [...c.groups] };
}

/** capable(cap): CAP_CHECKPOINT_RESTORE does not exist before 5.9. */
export function hasCap(k: KernelCore, t: TaskState, cap: number): boolean {
  if (cap === CAP_CHECKPOINT_RESTORE && !k.profile.capCheckpointRestore) return false;
  return (t.cred.capEffective & (1n << BigInt(cap))) !== 0n;
}

/** checkpoint_restore_ns_capable(): CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE. */
export function checkpointRestoreCapable(k: KernelCore, t: TaskState): boolean {
  return hasCap(k, t, CAP_SYS_ADMIN) || hasCap(k, t, CAP_CHECKPOINT_RESTORE);
}

/** Is the task in group `gid` (egid or supplementary)? in_egroup_p(). */
export function inEgroup(t: TaskState, gid: number): boolean {
  return t.cred.egid === gid || t.cred.groups.includes(gid);
}

function validId(id: number): boolean {
  return Number.isInteger(id) && id >= 0 && id < 0xffffffff;
}

/** -1 (as uid_t) means "unchanged" in setre*id/setres*id. */
function keep(id: number): boolean {
  return id === -1 || id === 0xffffffff;
}

function fixSetuid(old: Cred, c: Cred): void {
  if ((old.uid === 0 || old.euid === 0 || old.suid === 0) && c.uid !== 0 && c.euid !== 0 && c.suid !== 0) {
    c.capPermitted = 0n;
    c.capEffective = 0n;
  }
  if (old.euid === 0 && c.euid !== 0) c.capEffective = 0n;
  if (old.euid !== 0 && c.euid === 0) c.capEffective = c.capPermitted;
  fixFsuid(old.fsuid, c);
}

function fixFsuid(oldFsuid: number, c: Cred): void {
  if (oldFsuid === 0 && c.fsuid !== 0) c.capEffective &= ~CAP_FS_MASK;
  if (oldFsuid !== 0 && c.fsuid === 0) c.capEffective |= c.capPermitted & CAP_FS_MASK;
}

/** The four ids of one family (uids or gids) and the capability that overrides its rules. */
interface IdFamily {
  r: 'uid' | 'gid';
  e: 'euid' | 'egid';
  s: 'suid' | 'sgid';
  fs: 'fsuid' | 'fsgid';
  cap: number;
  /** cap_task_fix_setuid() applies to uid changes only. */
  fix: boolean;
}

const UIDS: IdFamily = { r: 'uid', e: 'euid', s: 'suid', fs: 'fsuid', cap: CAP_SETUID, fix: true };
const GIDS: IdFamily = { r: 'gid', e: 'egid', s: 'sgid', fs: 'fsgid', cap: CAP_SETGID, fix: false };

function commit(t: TaskState, old: Cred, c: Cred, f: IdFamily): void {
  if (f.fix) fixSetuid(old, c);
  t.cred = c;
}

/** setuid(2)/setgid(2) (__sys_setuid): privileged sets all; else only to the real or saved id. */
function setId(k: KernelCore, t: TaskState, f: IdFamily, id: number): void {
  if (!validId(id)) throw err('EINVAL');
  const old = t.cred;
  const c = copyCred(old);
  if (hasCap(k, t, f.cap)) c[f.r] = c[f.s] = c[f.e] = c[f.fs] = id;
  else if (id === old[f.r] || id === old[f.s]) c[f.e] = c[f.fs] = id;
  else throw err('EPERM');
  commit(t, old, c, f);
}

/** setreuid(2)/setregid(2) (__sys_setreuid). */
function setReId(k: KernelCore, t: TaskState, f: IdFamily, rid: number, eid: number): void {
  if ((!keep(rid) && !validId(rid)) || (!keep(eid) && !validId(eid))) throw err('EINVAL');
  const old = t.cred;
  const c = copyCred(old);
  const priv = hasCap(k, t, f.cap);
  if (!keep(rid)) {
    if (!priv && rid !== old[f.r] && rid !== old[f.e]) throw err('EPERM');
    c[f.r] = rid;
  }
  if (!keep(eid)) {
    if (!priv && eid !== old[f.r] && eid !== old[f.e] && eid !== old[f.s]) throw err('EPERM');
    c[f.e] = eid;
  }
  if (!keep(rid) || (!keep(eid) && eid !== old[f.r])) c[f.s] = c[f.e];
  c[f.fs] = c[f.e];
  commit(t, old, c, f);
}

/** setresuid(2)/setresgid(2) (__sys_setresuid): unprivileged, each to one of the current three. */
function setResId(k: KernelCore, t: TaskState, f: IdFamily, rid: number, eid: number, sid: number): void {
  for (const id of [rid, eid, sid]) if (!keep(id) && !validId(id)) throw err('EINVAL');
  const old = t.cred;
  if (!hasCap(k, t, f.cap)) {
    const ok = (id: number) => keep(id) || id === old[f.r] || id === old[f.e] || id === old[f.s];
    if (!ok(rid) || !ok(eid) || !ok(sid)) throw err('EPERM');
  }
  const c = copyCred(old);
  if (!keep(rid)) c[f.r] = rid;
  if (!keep(eid)) c[f.e] = eid;
  if (!keep(sid)) c[f.s] = sid;
  c[f.fs] = c[f.e];
  commit(t, old, c, f);
}

export const setuid = (k: KernelCore, t: TaskState, uid: number): void => setId(k, t, UIDS, uid);
export const setgid = (k: KernelCore, t: TaskState, gid: number): void => setId(k, t, GIDS, gid);
export const setreuid = (k: KernelCore, t: TaskState, r: number, e: number): void => setReId(k, t, UIDS, r, e);
export const setregid = (k: KernelCore, t: TaskState, r: number, e: number): void => setReId(k, t, GIDS, r, e);
export const setresuid = (k: KernelCore, t: TaskState, r: number, e: number, s: number): void => setResId(k, t, UIDS, r, e, s);
export const setresgid = (k: KernelCore, t: TaskState, r: number, e: number, s: number): void => setResId(k, t, GIDS, r, e, s);

/**
 * setfsuid(2) (__sys_setfsuid): to the real, effective, saved or current fsuid, or anything with
 * CAP_SETUID; an invalid uid changes nothing. Always returns the old fsuid. Leaving or reaching
 * fsuid 0 drops or restores the fs capabilities (cap_task_fix_setuid LSM_SETID_FS).
 */
export function setfsuid(k: KernelCore, t: TaskState, uid: number): number {
  const old = t.cred;
  if (!validId(uid) || uid === old.fsuid) return old.fsuid;
  if (uid !== old.uid && uid !== old.euid && uid !== old.suid && !hasCap(k, t, CAP_SETUID)) return old.fsuid;
  const c = copyCred(old);
  c.fsuid = uid;
  fixFsuid(old.fsuid, c);
  t.cred = c;
  return old.fsuid;
}

/** setgroups(2). */
export function setgroups(k: KernelCore, t: TaskState, groups: number[]): void {
  if (!Array.isArray(groups) || groups.length > NGROUPS_MAX) throw err('EINVAL');
  if (!hasCap(k, t, CAP_SETGID)) throw err('EPERM');
  for (const g of groups) if (!validId(g)) throw err('EINVAL');
  const c = copyCred(t.cred);
  c.groups = [...groups].sort((a, b) => a - b);
  t.cred = c;
}

/** capset(2), simplified to the two sets the model keeps. */
export function capset(t: TaskState, effective: bigint, permitted: bigint): void {
  if (typeof effective !== 'bigint' || typeof permitted !== 'bigint') throw err('EINVAL');
  if ((permitted & ~t.cred.capPermitted) !== 0n) throw err('EPERM');
  if ((effective & ~permitted) !== 0n) throw err('EPERM');
  const c = copyCred(t.cred);
  c.capEffective = effective;
  c.capPermitted = permitted;
  t.cred = c;
}
