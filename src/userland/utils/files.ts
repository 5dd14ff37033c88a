/**
 * File utilities: cat, ls (-l -a -1 -d), mkdir (-p -m), rm (-r -f), touch. Output formats follow
 * GNU coreutils (ls -l: mode, links, owner, group, size or "major, minor", `%b %e %H:%M` in UTC).
 */
import { ErrnoError, strerror } from '../../abi/errno.js';
import {
  O_CLOEXEC, O_CREAT, O_WRONLY, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFSOCK,
} from '../../abi/constants.js';
import type { Stat } from '../../abi/fs.js';
import { defineApplet, type AppletIo } from '../lib/applet.js';
import { getopt, UsageError } from '../lib/args.js';
import { newInput, pumpInput, type InputState } from '../lib/input.js';
import { defineUserlandProgram } from '../lib/program.js';
import { idNames, readDir } from '../lib/files.js';

export { readDir };

// ---- cat ----

defineUserlandProgram<{ inp: InputState | null }>({
  name: '/bin/cat',
  start: () => ({ inp: null }),
  step(p) {
    const s = p.state;
    if (!s.inp) {
      const files = p.argv.slice(1).filter((a) => a !== '-u');
      s.inp = newInput(files);
    }
    const out = pumpInput(p, 'cat', s.inp, { data: (b) => p.out(b) });
    if (out !== null) return out;
    return p.exit(s.inp.failed);
  },
});

// ---- ls ----

export function modeString(mode: number): string {
  const fmt = mode & S_IFMT;
  const type = fmt === S_IFDIR ? 'd' : fmt === S_IFCHR ? 'c' : fmt === S_IFBLK ? 'b' : fmt === S_IFIFO ? 'p' : fmt === S_IFLNK ? 'l' : fmt === S_IFSOCK ? 's' : '-';
  const rwx = (bits: number, special: boolean, ch: string) =>
    `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${special ? (bits & 1 ? ch : ch.toUpperCase()) : bits & 1 ? 'x' : '-'}`;
  return type + rwx((mode >> 6) & 7, (mode & 0o4000) !== 0, 's') + rwx((mode >> 3) & 7, (mode & 0o2000) !== 0, 's') + rwx(mode & 7, (mode & 0o1000) !== 0, 't');
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function lsDate(sec: number): string {
  const d = new Date(sec * 1000);
  const hh = String(d.getUTCHours()).padStart(2, '0');
  const mm = String(d.getUTCMinutes()).padStart(2, '0');
  return `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2)} ${hh}:${mm}`;
}

function ls(argv: string[], io: AppletIo): number {
  const { opts, operands } = getopt(argv.slice(1), { short: 'laAd1F', permute: true });
  const long = opts.has('l');
  const all = opts.has('a');
  const almost = opts.has('A');
  const sys = io.sys;
  let status = 0;
  const users = long ? idNames(sys, '/etc/passwd') : new Map<number, string>();
  const groups = long ? idNames(sys, '/etc/group') : new Map<number, string>();
  const paths = operands.length ? operands : ['.'];
  const files: Array<[string, Stat, string]> = [];
  const dirs: string[] = [];
  for (const path of paths) {
    try {
      // -l shows a symbolic link operand itself (GNU ls without -H/-L); otherwise it is followed.
      const lst = long || opts.has('d') ? sys.lstat(path) : null;
      const st = lst && (lst.st_mode & S_IFMT) === S_IFLNK ? lst : sys.stat(path);
      if ((st.st_mode & S_IFMT) === S_IFDIR && !opts.has('d')) dirs.push(path);
      else files.push([path, st, path]);
    } catch (e) {
      if (!(e instanceof ErrnoError)) throw e;
      io.err(`ls: cannot access '${path}': ${strerror(e.code)}\n`);
      status = 2;
    }
  }
  /** ` -> target` after a symbolic link's name (GNU ls -l). */
  const arrow = (path: string, st: Stat): string => {
    if ((st.st_mode & S_IFMT) !== S_IFLNK) return '';
    const r = (() => {
      try {
        return sys.readlink(path);
      } catch (e) {
        if (!(e instanceof ErrnoError)) throw e;
        return null;
      }
    })();
    return r === null ? '' : ` -> ${r}`;
  };
  const print = (entries: Array<[string, Stat, string]>, total: boolean) => {
    if (!long) {
      for (const [name] of entries) io.out(name + '\n');
      return;
    }
    const rows = entries.map(([name, st, path]) => {
      const fmt = st.st_mode & S_IFMT;
      const size = fmt === S_IFCHR || fmt === S_IFBLK ? `${(st.st_rdev >> 8) & 0xfff}, ${st.st_rdev & 0xff}` : String(st.st_size);
      return [modeString(st.st_mode), String(st.st_nlink), users.get(st.st_uid) ?? String(st.st_uid), groups.get(st.st_gid) ?? String(st.st_gid), size, lsDate(st.st_mtime), name + arrow(path, st)];
    });
    const w = [0, 1, 2, 3, 4].map((i) => Math.max(0, ...rows.map((r) => r[i]!.length)));
    if (total) io.out(`total ${entries.reduce((n, [, st]) => n + Math.ceil(st.st_blocks / 2), 0)}\n`);
    for (const r of rows) io.out(`${r[0]} ${r[1]!.padStart(w[1]!)} ${r[2]!.padEnd(w[2]!)} ${r[3]!.padEnd(w[3]!)} ${r[4]!.padStart(w[4]!)} ${r[5]} ${r[6]}\n`);
  };
  print(files.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)), false);
  dirs.sort();
  dirs.forEach((dir, i) => {
    if (paths.length > 1) io.out(`${files.length || i ? '\n' : ''}${dir}:\n`);
    let names: string[];
    try {
      names = readDir(sys, dir);
    } catch (e) {
      if (!(e instanceof ErrnoError)) throw e;
      io.err(`ls: cannot open directory '${dir}': ${strerror(e.code)}\n`);
      status = 2;
      return;
    }
    names = names.filter((n) => all || (!n.startsWith('.') || (almost && n !== '.' && n !== '..'))).sort();
    const entries: Array<[string, Stat, string]> = [];
    for (const n of names) {
      const full = dir === '/' ? `/${n}` : `${dir}/${n}`;
      try {
        entries.push([n, long ? sys.lstat(full) : sys.stat(full), full]);
      } catch (e) {
        if (!(e instanceof ErrnoError)) throw e;
      }
    }
    print(entries, true);
  });
  return status;
}
defineApplet('/bin/ls', ls, 2);

// ---- mkdir, rm, touch ----

function mkdir(argv: string[], io: AppletIo): number {
  const { opts, operands } = getopt(argv.slice(1), { short: 'pm:v', permute: true, long: { parents: 'p', 'mode=': 'm' } });
  const modeArg = opts.get('m')?.[0];
  const mode = modeArg === undefined ? 0o777 : parseInt(modeArg, 8);
  if (Number.isNaN(mode)) throw new UsageError(`invalid mode '${modeArg}'`);
  if (operands.length === 0) throw new UsageError('missing operand');
  let status = 0;
  for (const path of operands) {
    const targets = opts.has('p') ? prefixes(path) : [path];
    for (const t of targets) {
      try {
        io.sys.mkdir(t, mode);
      } catch (e) {
        if (!(e instanceof ErrnoError)) throw e;
        if (opts.has('p') && e.code === 'EEXIST') continue;
        io.err(`mkdir: cannot create directory '${t}': ${strerror(e.code)}\n`);
        status = 1;
        break;
      }
    }
  }
  return status;
}
defineApplet('/bin/mkdir', mkdir);

function prefixes(path: string): string[] {
  const parts = path.split('/');
  const out: string[] = [];
  for (let i = 1; i <= parts.length; i++) {
    const p = parts.slice(0, i).join('/');
    if (p && p !== '/' && !out.includes(p)) out.push(p);
  }
  return out;
}

function rm(argv: string[], io: AppletIo): number {
  const { opts, operands } = getopt(argv.slice(1), { short: 'rRfdv', permute: true, long: { recursive: 'r', force: 'f' } });
  const recursive = opts.has('r') || opts.has('R');
  const force = opts.has('f');
  if (operands.length === 0 && !force) throw new UsageError('missing operand');
  let status = 0;
  const remove = (path: string): boolean => {
    const sys = io.sys;
    try {
      const st = sys.stat(path);
      if ((st.st_mode & S_IFMT) === S_IFDIR) {
        if (!recursive && !opts.has('d')) {
          io.err(`rm: cannot remove '${path}': Is a directory\n`);
          return false;
        }
        let ok = true;
        if (recursive) for (const n of readDir(sys, path)) if (n !== '.' && n !== '..') ok = remove(`${path}/${n}`) && ok;
        if (ok) sys.rmdir(path);
        return ok;
      }
      sys.unlink(path);
      return true;
    } catch (e) {
      if (!(e instanceof ErrnoError)) throw e;
      if (force && e.code === 'ENOENT') return true;
      io.err(`rm: cannot remove '${path}': ${strerror(e.code)}\n`);
      return false;
    }
  };
  for (const path of operands) if (!remove(path)) status = 1;
  return status;
}
defineApplet('/bin/rm', rm);

function touch(argv: string[], io: AppletIo): number {
  const { operands } = getopt(argv.slice(1), { short: 'acm', permute: true });
  if (operands.length === 0) throw new UsageError('missing file operand');
  let status = 0;
  for (const path of operands) {
    try {
      if (io.sys.access(path, 0) === 0) continue;
    } catch {
      // does not exist yet
    }
    try {
      io.sys.close(io.sys.open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o666));
    } catch (e) {
      if (!(e instanceof ErrnoError)) throw e;
      io.err(`touch: cannot touch '${path}': ${strerror(e.code)}\n`);
      status = 1;
    }
  }
  return status;
}
defineApplet('/bin/touch', touch);
