/**
 * `--bind HOSTDIR:/path`: a host directory made readable and writable inside the model.
 *
 * Design note. The model's file system is plain data (it must survive a checkpoint), so a bind is
 * a copy, not a live mount: at start the host tree is copied into the model at /path; when the
 * session ends, files created or changed under /path are written back to HOSTDIR and files removed
 * inside the model are removed on the host (only those that came from it). This is how images
 * enter and leave the model. Regular files and directories only.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { O_CREAT, O_RDONLY, O_TRUNC, O_WRONLY, S_IFDIR, S_IFMT, S_IFREG } from '../abi/constants.js';
import type { Kernel } from '../syscalls/kernel.js';
import type { Sys } from '../syscalls/sys.js';
import { readDir } from '../userland/lib/files.js';

export interface Bind {
  host: string;
  path: string;
  /** Relative paths copied in (for deletions on copy-out). */
  copied: Set<string>;
}

/** Parses `HOSTDIR:/path`. */
export function parseBind(spec: string): Bind {
  const at = spec.lastIndexOf(':');
  if (at <= 0 || !spec.slice(at + 1).startsWith('/')) throw new Error(`--bind wants HOSTDIR:/path, got '${spec}'`);
  const host = spec.slice(0, at);
  if (!existsSync(host) || !statSync(host).isDirectory()) throw new Error(`--bind: ${host} is not a directory`);
  return { host, path: spec.slice(at + 1).replace(/\/+$/, '') || '/', copied: new Set() };
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
        b.copied.add(r + '/');
        walk(r);
      } else if (st.isFile()) {
        writeModelFile(sys, `${b.path}/${r}`, readFileSync(join(b.host, r)));
        b.copied.add(r);
      }
    }
  };
  walk('');
}

/** Writes the model's tree under the bind back to the host. */
export function copyOut(k: Kernel, b: Bind): void {
  const sys = k.init.sys;
  const seen = new Set<string>();
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
        const host = join(b.host, r);
        if (!existsSync(host) || !readFileSync(host).equals(Buffer.from(data))) writeFileSync(host, data);
      }
    }
  };
  walk('');
  for (const r of [...b.copied].sort().reverse()) {
    if (!seen.has(r)) rmSync(join(b.host, r), { recursive: true, force: true });
  }
}
