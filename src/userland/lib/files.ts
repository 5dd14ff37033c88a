/** Small file helpers for utilities (direct calls: regular files and /proc never sleep). */
import { ErrnoError } from '../../abi/errno.js';
import { O_CLOEXEC, O_DIRECTORY, O_RDONLY } from '../../abi/constants.js';
import type { Sys } from '../../syscalls/sys.js';
import { toText } from './program.js';

/** A whole file's text, or null when it cannot be opened or read. */
export function readText(sys: Sys, path: string): string | null {
  let fd: number;
  try {
    fd = sys.open(path, O_RDONLY | O_CLOEXEC);
  } catch (e) {
    if (e instanceof ErrnoError) return null;
    throw e;
  }
  let text = '';
  try {
    for (let b = sys.read(fd, 65536); b.length; b = sys.read(fd, 65536)) text += toText(b);
  } catch (e) {
    if (!(e instanceof ErrnoError)) throw e;
    return null;
  } finally {
    try {
      sys.close(fd);
    } catch {
      // already closed
    }
  }
  return text;
}

/** A directory's names (getdents64 until empty). Throws ErrnoError. */
export function readDir(sys: Sys, path: string): string[] {
  const fd = sys.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const names: string[] = [];
  try {
    for (let ents = sys.getdents64(fd); ents.length; ents = sys.getdents64(fd)) for (const e of ents) names.push(e.d_name);
  } finally {
    sys.close(fd);
  }
  return names;
}

/** uid/gid → name from /etc/passwd or /etc/group (empty when absent). */
export function idNames(sys: Sys, path: string): Map<number, string> {
  const m = new Map<number, string>();
  for (const line of (readText(sys, path) ?? '').split('\n')) {
    const f = line.split(':');
    if (f.length >= 3 && /^[0-9]+$/.test(f[2]!)) m.set(Number(f[2]), f[0]!);
  }
  return m;
}
