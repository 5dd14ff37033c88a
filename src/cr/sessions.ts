/**
 * Design note: sessions and process groups (pstree.img's sid and pgid) are recreated the way they
 * were made: a session leader calls setsid() right after it is created, before it has children
 * (so they inherit the session, as they did); once every process exists, each one whose group
 * differs from the one it inherited calls setpgid(0, pgid), group leaders first (setpgid needs the
 * group to exist in the caller's session). What this cannot recreate without helper tasks (CRIU
 * forks helpers for it) is refused, at dump and at restore, before anything changes:
 *   - a session inherited from a process that changed session afterwards (the child's sid is
 *     neither its own pid nor its parent's sid), the session or group outside the container
 *     included (an ancestor made its own session after creating the child);
 *   - a group whose leader is not in the tree, is in another group, or in another session;
 *   - a changed group for a process in a nested pid namespace (refused when the restore meets it).
 * A sid or pgid of 0 (outside the container) is kept as the restorer's and reported (dump.ts).
 */
import type { CkPstree } from './model.js';

/** Why the sessions and groups of `pstree` (creation order) cannot be recreated, or null. */
export function sessionProblem(pstree: readonly CkPstree[]): string | null {
  const byPid = new Map(pstree.map((p) => [p.pid, p]));
  /** The session each process ends up in when only session leaders call setsid. */
  const made = new Map<number, number>();
  /** The group each process is in right after it is created (before any setpgid); 0 = outside. */
  const group = new Map<number, number>();
  for (const p of pstree) {
    const leader = p.sid === p.pid;
    const sid = leader ? p.pid : (made.get(p.ppid) ?? p.sid);
    made.set(p.pid, sid);
    group.set(p.pid, leader ? p.pid : (group.get(p.ppid) ?? 0));
    if (sid !== p.sid) return `pid ${p.pid}: session ${p.sid || 'outside the container'} was left by its parent before the dump (needs a helper task)`;
    // A group outside the container cannot be joined again once an ancestor made its own session.
    if (p.pgid === 0 && group.get(p.pid) !== 0) return `pid ${p.pid}: process group outside the container, left by its parent before the dump (needs a helper task)`;
  }
  for (const p of pstree) {
    if (p.pgid === 0 || p.pgid === p.pid) continue;
    const leader = byPid.get(p.pgid);
    if (!leader || leader.pgid !== p.pgid || leader.sid !== p.sid) return `pid ${p.pid}: process group ${p.pgid} has no leader in the tree in its session (needs a helper task)`;
  }
  return null;
}
