/**
 * Redirections, with dash's saved-descriptor dance (see shell.ts), and here-documents.
 */
import { strerror, type ErrnoCode } from '../../abi/errno.js';
import {
  F_DUPFD_CLOEXEC, O_APPEND, O_CLOEXEC, O_CREAT, O_EXCL, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY,
} from '../../abi/constants.js';
import type { Redir } from './ast.js';
import { ExpandError, expandString, type ExpandEnv } from './expand.js';
import { type F, type Outcome, type Shell } from './shell.js';
import { needSubsts } from './subst.js';

/** A pipe's buffer (the kernel's PIPE_SIZE): a here-document this long or shorter goes through a pipe. */
const PIPE_CAPACITY = 65536;

/**
 * Applies redirections. With `saved`, the previous descriptors are kept for `restore`. Returns
 * false after printing the error (the caller's status is 1).
 */
export function applyRedirs(sh: Shell, redirs: Redir[], env: ExpandEnv, saved: Array<[number, number]> | null): boolean {
  const sys = sh.p.sys;
  for (const r of redirs) {
    let target: string;
    try {
      target = expandString(r.target, env);
    } catch (e) {
      if (e instanceof ExpandError) {
        sh.error(e.message);
        return false;
      }
      throw e;
    }
    let newfd: number;
    if (r.op === '<&' || r.op === '>&') {
      if (target === '-') {
        saveFd(sh, r.fd, saved);
        sh.p.attempt(() => sys.close(r.fd));
        continue;
      }
      if (!/^[0-9]+$/.test(target)) {
        sh.error(`${target}: ambiguous redirect`);
        return false;
      }
      const src = Number(target);
      if (src === r.fd) continue;
      const chk = sh.p.attempt(() => sys.fcntl(src, 1 /* F_GETFD */));
      if (!chk.ok) {
        sh.error(`${target}: Bad file descriptor`);
        return false;
      }
      saveFd(sh, r.fd, saved);
      const d = sh.p.attempt(() => sys.dup2(src, r.fd));
      if (!d.ok) {
        sh.error(`${r.fd}: ${strerror(d.code)}`);
        return false;
      }
      continue;
    }
    if (r.op === '<<' || r.op === '<<-') {
      const doc = hereDoc(sh, target);
      if (doc < 0) return false;
      newfd = doc;
    } else {
      const flags =
        r.op === '<' ? O_RDONLY
          : r.op === '>>' ? O_WRONLY | O_CREAT | O_APPEND
            : r.op === '<>' ? O_RDWR | O_CREAT
              : O_WRONLY | O_CREAT | O_TRUNC;
      const o = sh.p.attempt(() => sys.open(target, flags, 0o666));
      if (!o.ok) {
        sh.error(`${target}: ${strerror(o.code)}`);
        return false;
      }
      newfd = o.value;
    }
    if (newfd === r.fd) {
      // The fd was free and the open landed on it (or a preset fd chose it): undo = close.
      if (saved && !saved.some(([fd]) => fd === r.fd)) saved.push([r.fd, -1]);
      continue;
    }
    saveFd(sh, r.fd, saved);
    const d = sh.p.attempt(() => sys.dup2(newfd, r.fd));
    sh.p.attempt(() => sys.close(newfd));
    if (!d.ok) {
      // dup2 beyond RLIMIT_NOFILE: EBADF, as bash reports `99999: Bad file descriptor`.
      sh.error(`${r.fd}: ${strerror(d.code)}`);
      return false;
    }
  }
  return true;
}

/**
 * A here-document's read end. As bash: through a pipe when the body fits in the pipe's buffer
 * (so the write never sleeps), else through a temporary file (`/tmp/sh-thd.PID.N`, opened again
 * for reading and unlinked at once). -1 after reporting an error.
 */
export function hereDoc(sh: Shell, body: string): number {
  const sys = sh.p.sys;
  const bytes = new TextEncoder().encode(body);
  if (bytes.length <= PIPE_CAPACITY) {
    const pr = sh.p.attempt(() => sys.pipe2(O_CLOEXEC));
    if (!pr.ok) {
      sh.error(`cannot create pipe for here-document: ${strerror(pr.code)}`);
      return -1;
    }
    sh.p.attempt(() => sys.write(pr.value[1], bytes));
    sh.p.attempt(() => sys.close(pr.value[1]));
    return pr.value[0];
  }
  for (let n = 0; ; n++) {
    const name = `/tmp/sh-thd.${sys.getpid()}.${n}`;
    const w = sh.p.attempt(() => sys.open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600));
    if (!w.ok && w.code === 'EEXIST' && n < 100) continue;
    if (!w.ok) {
      sh.error(`cannot create temp file for here-document: ${strerror(w.code)}`);
      return -1;
    }
    let err: ErrnoCode | null = null;
    for (let at = 0; at < bytes.length && !err; ) {
      const k = sh.p.attempt(() => sys.write(w.value, bytes.subarray(at, at + 65536)));
      if (k.ok) at += k.value;
      else err = k.code;
    }
    sh.p.attempt(() => sys.close(w.value));
    const rd = err ? null : sh.p.attempt(() => sys.open(name, O_RDONLY | O_CLOEXEC));
    sh.p.attempt(() => sys.unlink(name));
    if (!rd || !rd.ok) {
      sh.error(`cannot write here-document: ${strerror(err ?? (rd && !rd.ok ? rd.code : 'EIO'))}`);
      return -1;
    }
    return rd.value;
  }
}

export function saveFd(sh: Shell, fd: number, saved: Array<[number, number]> | null): void {
  if (!saved || saved.some(([x]) => x === fd)) return;
  const r = sh.p.attempt(() => sh.p.sys.fcntl(fd, F_DUPFD_CLOEXEC, 10));
  saved.push([fd, r.ok ? r.value : -1]);
}

export function restoreFds(sh: Shell, saved: Array<[number, number]>): void {
  const sys = sh.p.sys;
  for (let i = saved.length - 1; i >= 0; i--) {
    const [fd, copy] = saved[i]!;
    if (copy >= 0) {
      sh.p.attempt(() => sys.dup2(copy, fd));
      sh.p.attempt(() => sys.close(copy));
    } else sh.p.attempt(() => sys.close(fd));
  }
  saved.length = 0;
}

export function execRedir(sh: Shell, f: F<'redir'>): Outcome {
  if (f.phase === 'apply') {
    if (f.subs === null && needSubsts(sh, f.redirs.map((r) => r.target))) return undefined;
    if (!applyRedirs(sh, f.redirs, sh.expandEnv(f.subs), f.saved)) {
      restoreFds(sh, f.saved);
      sh.finish(1);
      return undefined;
    }
    f.phase = 'done';
    sh.pushNode(f.node);
    return undefined;
  }
  restoreFds(sh, f.saved);
  sh.finish(f.ret ?? sh.s.status);
  return undefined;
}
