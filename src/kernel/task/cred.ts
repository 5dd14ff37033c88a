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
import type { KernelCore } from '../kernel.js';
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

function commit(t: TaskState, old: Cred, c: Cred, fix: boolean): void {
  if (fix) fixSetuid(old, c);
  t.cred = c;
}

/** setuid(2). */
export function setuid(k: KernelCore, t: TaskState, uid: number): void {
  if (!validId(uid)) throw err('EINVAL');
  const old = t.cred;
  const c = copyCred(old);
  if (hasCap(k, t, CAP_SETUID)) {
    c.uid = c.suid = c.euid = c.fsuid = uid;
  } else if (uid === old.uid || uid === old.suid) {
    c.euid = c.fsuid = uid;
  } else {
    throw err('EPERM');
  }
  commit(t, old, c, true);
}

/** setreuid(2). */
export function setreuid(k: KernelCore, t: TaskState, ruid: number, euid: number): void {
  if ((!keep(ruid) && !validId(ruid)) || (!keep(euid) && !validId(euid))) throw err('EINVAL');
  const old = t.cred;
  const c = copyCred(old);
  const priv = hasCap(k, t, CAP_SETUID);
  if (!keep(ruid)) {
    if (!priv && ruid !== old.uid && ruid !== old.euid) throw err('EPERM');
    c.uid = ruid;
  }
  if (!keep(euid)) {
    if (!priv && euid !== old.uid && euid !== old.euid && euid !== old.suid) throw err('EPERM');
    c.euid = euid;
  }
  if (!keep(ruid) || (!keep(euid) && euid !== old.uid)) c.suid = c.euid;
  c.fsuid = c.euid;
  commit(t, old, c, true);
}

/** setresuid(2). */
export function setresuid(k: KernelCore, t: TaskState, ruid: number, euid: number, suid: number): void {
  for (const id of [ruid, euid, suid]) if (!keep(id) && !validId(id)) throw err('EINVAL');
  const old = t.cred;
  if (!hasCap(k, t, CAP_SETUID)) {
    const ok = (id: number) => keep(id) || id === old.uid || id === old.euid || id === old.suid;
    if (!ok(ruid) || !ok(euid) || !ok(suid)) throw err('EPERM');
  }
  const c = copyCred(old);
  if (!keep(ruid)) c.uid = ruid;
  if (!keep(euid)) c.euid = euid;
  if (!keep(suid)) c.suid = suid;
  c.fsuid = c.euid;
  commit(t, old, c, true);
}

/** setgid(2). */
export function setgid(k: KernelCore, t: TaskState, gid: number): void {
  if (!validId(gid)) throw err('EINVAL');
  const old = t.cred;
  const c = copyCred(old);
  if (hasCap(k, t, CAP_SETGID)) c.gid = c.sgid = c.egid = c.fsgid = gid;
  else if (gid === old.gid || gid === old.sgid) c.egid = c.fsgid = gid;
  else throw err('EPERM');
  commit(t, old, c, false);
}

/** setregid(2). */
export function setregid(k: KernelCore, t: TaskState, rgid: number, egid: number): void {
  if ((!keep(rgid) && !validId(rgid)) || (!keep(egid) && !validId(egid))) throw err('EINVAL');
  const old = t.cred;
  const c = copyCred(old);
  const priv = hasCap(k, t, CAP_SETGID);
  if (!keep(rgid)) {
    if (!priv && rgid !== old.gid && rgid !== old.egid) throw err('EPERM');
    c.gid = rgid;
  }
  if (!keep(egid)) {
    if (!priv && egid !== old.gid && egid !== old.egid && egid !== old.sgid) throw err('EPERM');
    c.egid = egid;
  }
  if (!keep(rgid) || (!keep(egid) && egid !== old.gid)) c.sgid = c.egid;
  c.fsgid = c.egid;
  commit(t, old, c, false);
}

/** setresgid(2). */
export function setresgid(k: KernelCore, t: TaskState, rgid: number, egid: number, sgid: number): void {
  for (const id of [rgid, egid, sgid]) if (!keep(id) && !validId(id)) throw err('EINVAL');
  const old = t.cred;
  if (!hasCap(k, t, CAP_SETGID)) {
    const ok = (id: number) => keep(id) || id === old.gid || id === old.egid || id === old.sgid;
    if (!ok(rgid) || !ok(egid) || !ok(sgid)) throw err('EPERM');
  }
  const c = copyCred(old);
  if (!keep(rgid)) c.gid = rgid;
  if (!keep(egid)) c.egid = egid;
  if (!keep(sgid)) c.sgid = sgid;
  c.fsgid = c.egid;
  commit(t, old, c, false);
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
