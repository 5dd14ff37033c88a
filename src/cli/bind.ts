/**
 * `--bind HOSTDIR:/path`: a host directory made readable and writable inside the model.
 *
 * Design note. The model's file system is plain data (it must survive a checkpoint), so a bind is
 * a copy, not a live mount: at start the host tree is copied into the model at /path; when the
 * session ends, files created or changed under /path are written back to HOSTDIR and files removed
 * inside the model are removed on the host (only those that came from it). This is how images
 * enter and leave the model. Regular files and directories only.
 *
 * The copy-out is a three-way merge against what was read in (a SHA-256 of each file): a file the
 * model did not change is never written (the host may have changed it meanwhile — `nsd sh --bind
 * .:/w -c 'echo hi' > out.txt` writes out.txt on the host during the run); a file changed on both
 * sides, a file removed in the model but changed on the host, and a file created in the model
 * where one appeared on the host are left alone on the host and reported (nothing is lost
 * silently). Directories are removed only when empty.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { O_CREAT, O_RDONLY, O_TRUNC, O_WRONLY, S_IFDIR, S_IFMT, S_IFREG } from '../abi/constants.js';
import type { Kernel } from '../syscalls/scheduler.js';
import type { Sys } from '../syscalls/sys.js';
import { readDir } from '../userland/lib/files.js';

export interface Bind {
  host: string;
  path: string;
  /** Relative paths copied in → SHA-256 of the content read (directories: `rel/` → ''). */
  copied: Map<string, string>;
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** SHA-256 of a host file now, or null when it is not a regular file. */
function hostHash(path: string): string | null {
  try {
    return statSync(path).isFile() ? sha256(readFileSync(path)) : null;
  } catch {
    return null;
  }
}

/** Parses `HOSTDIR:/path`. */
export function parseBind(spec: string): Bind {
  const at = spec.lastIndexOf(':');
  if (at <= 0 || !spec.slice(at + 1).startsWith('/')) throw new Error(`--bind wants HOSTDIR:/path, got '${spec}'`);
  const host = spec.slice(0, at);
  if (!existsSync(host) || !statSync(host).isDirectory()) throw new Error(`--bind: ${host} is not a directory`);
  return { host, path: spec.slice(at + 1).replace(/\/+$/, '') || '/', copied: new Map() };
}

function mkdirs(sys: Sys, path: string): void {
  let cur = '';
  for (const c of path.split('/').filter(Boolean)) {
    cur += '/' + c;
    try {
      sys.mkdir(cur, 0o755);
    } catch {
      // exists
    }
  }
}

function writeModelFile(sys: Sys, path: string, data: Uint8Array): void {
  const fd = sys.open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644);
  try {
    for (let at = 0; at < data.length; ) at += sys.write(fd, data.subarray(at, at + 65536));
  } finally {
    sys.close(fd);
  }
}

function readModelFile(sys: Sys, path: string): Uint8Array {
  const fd = sys.open(path, O_RDONLY);
  const chunks: Uint8Array[] = [];
  try {
    for (;;) {
      const b = sys.read(fd, 65536);
      if (b.length === 0) break;
      chunks.push(b);
    }
  } finally {
    sys.close(fd);
  }
  return Buffer.concat(chunks);
}

/** Copies the host tree into the model (as init, before anything runs). */
export function copyIn(k: Kernel, b: Bind): void {
  const sys = k.init.sys;
  mkdirs(sys, b.path);
  const walk = (rel: string) => {
    for (const name of readdirSync(join(b.host, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      const st = statSync(join(b.host, r));
      if (st.isDirectory()) {
        mkdirs(sys, `${b.path}/${r}`);
        b.copied.set(r + '/', '');
        walk(r);
      } else if (st.isFile()) {
        const data = readFileSync(join(b.host, r));
        writeModelFile(sys, `${b.path}/${r}`, data);
        b.copied.set(r, sha256(data));
      }
    }
  };
  walk('');
}

/**
 * Writes what the model changed under the bind back to the host. Returns one line per file left
 * alone because the host changed it too (also written to `warn`).
 */
export function copyOut(k: Kernel, b: Bind, warn: (line: string) => void = (l) => process.stderr.write(l + '\n')): string[] {
  const sys = k.init.sys;
  const seen = new Set<string>();
  const conflicts: string[] = [];
  const conflict = (r: string, what: string) => {
    const line = `nsd: --bind: ${join(b.host, r)}: ${what}; the host's file is kept`;
    conflicts.push(line);
    warn(line);
  };
  const walk = (rel: string) => {
    const dir = rel ? `${b.path}/${rel}` : b.path;
    let names: string[];
    try {
      names = readDir(sys, dir).filter((n) => n !== '.' && n !== '..');
    } catch {
      return;
    }
    for (const name of names) {
      const r = rel ? `${rel}/${name}` : name;
      const st = sys.stat(`${b.path}/${r}`);
      if ((st.st_mode & S_IFMT) === S_IFDIR) {
        seen.add(r + '/');
        mkdirSync(join(b.host, r), { recursive: true });
        walk(r);
      } else if ((st.st_mode & S_IFMT) === S_IFREG) {
        seen.add(r);
        const data = readModelFile(sys, `${b.path}/${r}`);
        const mine = sha256(data);
        const was = b.copied.get(r);
        if (mine === was) continue; // the model did not change it: never touch the host's
        const host = join(b.host, r);
        const now = hostHash(host);
        if (now === mine) continue;
        if (was === undefined ? now !== null || existsSync(host) : now !== was) {
          conflict(r, was === undefined ? 'created in the model but also on the host during the run' : 'changed both in the model and on the host during the run');
          continue;
        }
        writeFileSync(host, data);
      }
    }
  };
  walk('');
  for (const r of [...b.copied.keys()].sort().reverse()) {
    if (seen.has(r)) continue;
    const host = join(b.host, r);
    if (r.endsWith('/')) {
      try {
        rmdirSync(host);
      } catch {
        // not empty (the host added files) or gone already
      }
      continue;
    }
    const now = hostHash(host);
    if (now === null) continue;
    if (now !== b.copied.get(r)) conflict(r, 'removed in the model but changed on the host during the run');
    else rmSync(host, { force: true });
  }
  return conflicts;
}
