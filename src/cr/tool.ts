/**
 * Design note: `cr`, the model's criu — an ordinary userland program (installed at /sbin/cr) that
 * does its privileged work through the `nsd_cr` syscall (src/syscalls/cr.ts, engine in
 * src/cr/syscall.ts) and reads and writes images as files of the model's VFS:
 *
 *   cr dump -t PID -D DIR [--leave-running] [--with-fs] [--prev-images-dir REL] [--track-mem] [--lazy-pages] [-v]
 *   cr pre-dump -t PID -D DIR [--prev-images-dir REL] [--track-mem] [-v]
 *   cr dedup -D DIR
 *   cr restore -D DIR [--strategy nsd|with-id|mainline] [-d] [--ipc-only] [--lazy-pages] [--pidfile FILE] [-v]
 *   cr show FILE|DIR
 *   cr check
 *
 * dump asks the kernel for the images with the tree left running (frozen only inside the call),
 * writes them, and only then kills the tree (criu's order: a dump whose images cannot be written
 * leaves the container running). All of it happens within one program step, so no task of the
 * tree runs between the read and the kill. restore reads every `*.img` of DIR and hands them to the
 * kernel, which restores all or nothing with the caller as the restorer: the container's init
 * becomes cr's child. Without -d cr then waits for it (a blocking wait4, like criu) and exits with
 * its status; with -d it exits at once and init adopts the tree. pre-dump writes only the tree's
 * memory and leaves it running; a round (or a dump) with --prev-images-dir records its parent in
 * the file `parent`, and restore reads the whole chain (src/cr/pagemap.ts). restore --lazy-pages
 * leaves private memory missing and cr serves it (src/cr/lazy.ts): each step answers the pending
 * page faults and pushes 16 more pages until none is missing, then waits (with -d: exits).
 * `--ipc-only` recreates only an IPC namespace (a real CRIU dump): a child of cr holds it (it sleeps until killed), and cr lists
 * the fields CRIU's images have no place for. Errors name the image, object and reason; status 1.
 */
import { ErrnoError, strerror } from '../abi/errno.js';
import { O_CLOEXEC, O_CREAT, O_RDONLY, O_TRUNC, O_WRONLY, S_IFDIR, S_IFMT, S_IFREG, SIGKILL } from '../abi/constants.js';
import type { Kernel } from '../syscalls/scheduler.js';
import type { Sys } from '../syscalls/sys.js';
import type { CrReportEntry } from '../syscalls/cr.js';
import { defineProgram, type Proc } from '../userland/lib/program.js';
import { getopt, parseNumber, UsageError, type OptSpec } from '../userland/lib/args.js';
import { exitCodeOf } from '../userland/lib/process.js';
import { readDir } from '../userland/lib/files.js';
import { ImageError, showImage } from './image/index.js';
import { dedupChain, loadImageChain, PARENT_FILE } from './pagemap.js';
import { STRATEGIES } from './strategy.js';
import { MANIFEST } from './manifest.js';
import { installCrEngine } from './syscall.js';
import { formatSyscallSupport } from '../syscalls/support.js';

export const CR_PATH = '/sbin/cr';

const USAGE = `Usage:
  cr dump -t PID -D DIR [--leave-running] [--with-fs] [--prev-images-dir REL] [--track-mem] [--lazy-pages] [-v]
  cr pre-dump -t PID -D DIR [--prev-images-dir REL] [--track-mem] [-v]
  cr dedup -D DIR
  cr restore -D DIR [--strategy nsd|with-id|mainline] [-d] [--ipc-only] [--lazy-pages] [--pidfile FILE] [-v]
  cr show FILE|DIR
  cr check
  cr COMMAND --help

Commands:
  dump           checkpoint a process tree identified by pid
  pre-dump       save only the memory of a process tree, which keeps running (pre-copy)
  dedup          drop from the parent images of DIR the pages DIR's chain holds again
  restore        restore a process tree (or, with --ipc-only, an IPC namespace) from images
  show           decode image files to JSON (like crit show)
  check          report which restore strategies, features and syscalls this kernel supports

cr needs CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN for dump and restore.
`;

const HELP: Record<string, string> = {
  dump: `Usage: cr dump -t PID -D DIR [options]

Checkpoint the process tree rooted at PID (usually a container: the init of its own pid and
IPC namespaces) into image files in DIR. The tree is frozen while it is read; a task asleep in a
system call is saved with that call. The tree is killed once the images are written. Images of an
earlier dump in DIR are removed; nsd-manifest.json (each image's size and SHA-256) is written last,
and a restore checks it.

Options:
  -t, --tree PID         checkpoint the tree rooted at PID (as this process sees it)
  -D, --images-dir DIR   directory to write images to (created if missing)
  -R, --leave-running    leave the tree running after the dump
      --with-fs          also save the files the tree has open and everything under its
                         working directories (the checkpoint can then be restored many times)
      --prev-images-dir REL
                         a previous pre-dump round, relative to DIR: pages unchanged since it
                         are not written again (restore reads them from there)
      --track-mem        read dirtiness through /proc/PID/pagemap and reset it (clear_refs)
      --lazy-pages       mark the private pages of the pagemap images lazy (PE_LAZY): cr restore
                         --lazy-pages leaves them missing and serves them
  -v, --verbose          print what was dumped and the fields that will not come back
  -h, --help             show this text
`,
  'pre-dump': `Usage: cr pre-dump -t PID -D DIR [options]

Save only the memory of the process tree rooted at PID into DIR (pagemap-*.img, pages-*.img) and
leave the tree running. Dirty pages are read from /proc/PID/pagemap (soft-dirty) and tracking is
reset through /proc/PID/clear_refs, so the next round writes only what changed since this one.
Finish with cr dump --prev-images-dir REL --track-mem; restore follows the chain.

Options:
  -t, --tree PID         pre-dump the tree rooted at PID (as this process sees it)
  -D, --images-dir DIR   directory to write images to (created if missing)
      --prev-images-dir REL
                         the previous round, relative to DIR (its unchanged pages are not written)
      --track-mem        accepted for criu compatibility (a pre-dump always tracks memory)
  -v, --verbose          print the pages written and left to the parent
  -h, --help             show this text
`,
  restore: `Usage: cr restore -D DIR [options]

Restore the process tree saved in DIR into new pid and IPC namespaces, with the same pids, fds
and IPC ids. The restored init becomes a child of cr; cr waits for it and exits with its status.

Options:
  -D, --images-dir DIR   directory to read images from
  -s, --strategy NAME    how ids are obtained: nsd (next_syscall_data, default), with-id
                         (the *_with_id syscalls) or mainline (clone3 set_tid, *_next_id; IPC
                         times and last pids cannot be restored and are reported)
  -d, --restore-detached detach after restore: do not wait for the restored init
      --lazy-pages       post-copy: the tree starts with the pages the dump marked lazy (cr dump
                         --lazy-pages; a dump without pagemap images: all of its private memory)
                         missing; cr serves each page fault from DIR and pushes the rest in the
                         background
      --pidfile FILE     write the pid of the restored init (or IPC holder) to FILE
      --ipc-only         restore only the IPC namespace (e.g. a dump written by CRIU); a child
                         of cr holds it, and the fields CRIU's images lack are listed
  -v, --verbose          print every field the strategy could not restore
  -h, --help             show this text
`,
  dedup: `Usage: cr dedup -D DIR

Remove from the parent rounds of the image chain ending in DIR every page a later round holds
again (criu dedup). Restoring DIR gives the same memory; the parents take less space.

Options:
  -D, --images-dir DIR   the newest round of the chain
  -h, --help             show this text
`,
  show: `Usage: cr show FILE|DIR

Decode an image file (or every *.img file of a directory) to JSON, like crit show.
`,
  check: `Usage: cr check

Report the kernel profile, which restore strategies it supports, the features cr uses and each syscall's support.
`,
};

const SPECS: Record<string, OptSpec> = {
  dump: {
    short: 't:D:Rvh',
    long: { 'tree=': 't', 'images-dir=': 'D', 'leave-running': 'R', 'with-fs': 'F', 'prev-images-dir=': 'p', 'track-mem': 'M', 'lazy-pages': 'L', verbose: 'v', help: 'h' },
    permute: true,
  },
  'pre-dump': { short: 't:D:vh', long: { 'tree=': 't', 'images-dir=': 'D', 'prev-images-dir=': 'p', 'track-mem': 'M', verbose: 'v', help: 'h' }, permute: true },
  restore: {
    short: 'D:s:dvh',
    long: { 'images-dir=': 'D', 'strategy=': 's', 'restore-detached': 'd', 'pidfile=': 'P', 'ipc-only': 'I', 'lazy-pages': 'L', verbose: 'v', help: 'h' },
    permute: true,
  },
  dedup: { short: 'D:h', long: { 'images-dir=': 'D', help: 'h' }, permute: true },
  show: { short: 'h', long: { help: 'h' }, permute: true },
  check: { short: 'h', long: { help: 'h' }, permute: true },
};

interface CrState {
  /** `run`: not started; `wait`: waiting for the restored init; `hold`: the --ipc-only holder; `lazy`: serving pages. */
  phase: 'run' | 'wait' | 'hold' | 'holding' | 'lazy';
  pid: number;
  /** --lazy-pages: the images pages come from, the registrations, and -d. */
  lazy?: { images: Array<[string, Uint8Array]>; regs: Array<[number, number]>; detach: boolean };
}

class CrFailure extends Error {}

function fail(what: string): never {
  throw new CrFailure(what);
}

/** The engine's message for an errno from nsd_cr (its detail), else the errno's text. */
function why(e: unknown): string {
  if (e instanceof ErrnoError) return 'detail' in e && typeof e.detail === 'string' ? e.detail : `${strerror(e.code)} (${e.code})`;
  throw e;
}

const isDir = (sys: Sys, path: string): boolean => {
  try {
    return (sys.stat(path).st_mode & S_IFMT) === S_IFDIR;
  } catch {
    return false;
  }
};

function readFileBytes(sys: Sys, path: string): Uint8Array {
  const fd = sys.open(path, O_RDONLY | O_CLOEXEC);
  const chunks: Uint8Array[] = [];
  let n = 0;
  try {
    for (let b = sys.read(fd, 1 << 20); b.length > 0; b = sys.read(fd, 1 << 20)) {
      chunks.push(b);
      n += b.length;
    }
  } finally {
    sys.close(fd);
  }
  const out = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function writeFileBytes(sys: Sys, path: string, data: Uint8Array): void {
  const fd = sys.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600);
  try {
    for (let at = 0; at < data.length; ) at += sys.write(fd, data.subarray(at));
  } finally {
    sys.close(fd);
  }
}

/** The regular `*.img` files of a directory, sorted. */
function imageNames(sys: Sys, dir: string): string[] {
  return readDir(sys, dir).filter((n) => n.endsWith('.img') && (sys.stat(`${dir}/${n}`).st_mode & S_IFMT) === S_IFREG).sort();
}

function reportLine(r: CrReportEntry): string {
  return `${r.object} ${r.field}: saved ${r.saved}, restored ${r.restored} (${r.why})`;
}

/** One value of an option (the last one given). */
function opt(opts: Map<string, string[]>, key: string): string | undefined {
  const v = opts.get(key);
  return v?.[v.length - 1];
}

// ---- dump ----

function crDump(p: Proc<CrState>, opts: Map<string, string[]>, preDump = false): number {
  const t = opt(opts, 't');
  const dir = opt(opts, 'D');
  if (t === undefined) throw new UsageError('dump: a tree to dump is required (-t PID)');
  if (dir === undefined) throw new UsageError('dump: an images directory is required (-D DIR)');
  const pid = parseNumber(t);
  if (!Number.isSafeInteger(pid) || pid <= 0) throw new UsageError(`dump: bad pid '${t}'`);
  if (!isDir(p.sys, dir)) {
    const r = p.attempt(() => p.sys.mkdir(dir, 0o755));
    if (!r.ok) fail(`can't create images directory ${dir}: ${strerror(r.code)}`);
  }
  // Probe that the directory takes files before anything is frozen.
  const probe = `${dir}/.cr-probe`;
  const pr = p.attempt(() => p.sys.close(p.sys.open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)));
  if (!pr.ok) fail(`can't write to images directory ${dir}: ${strerror(pr.code)}`);
  p.attempt(() => p.sys.unlink(probe));
  const parent = opt(opts, 'p') ?? null;
  if (parent !== null && !isDir(p.sys, joinDir(dir, parent))) fail(`previous images directory ${parent} (relative to ${dir}) does not exist`);
  let reply;
  try {
    reply = p.sys.nsd_cr('dump', { pid, leaveRunning: true, withFs: opts.has('F'), trackMem: opts.has('M'), parent, preDump, ...(opts.has('L') ? { lazy: true } : {}) });
  } catch (e) {
    fail(`${why(e)}; the tree keeps running`);
  }
  // The manifest goes first out and last in: until it is written the directory is an incomplete
  // dump (refused by restore), and images of an earlier dump in DIR are removed (a restore refuses
  // images its manifest does not list).
  const names = new Set(reply.images.map(([n]) => n));
  let stale: string[] = [];
  try {
    stale = [MANIFEST, ...imageNames(p.sys, dir).filter((n) => !names.has(n))];
  } catch (e) {
    fail(`can't read images directory ${dir}: ${why(e)}; the tree keeps running`);
  }
  for (const n of stale) {
    const r = p.attempt(() => p.sys.unlink(`${dir}/${n}`));
    if (!r.ok && r.code !== 'ENOENT') fail(`removing ${dir}/${n} of an earlier dump: ${strerror(r.code)}; the tree keeps running`);
  }
  const ordered = [...reply.images.filter(([n]) => n !== MANIFEST), ...reply.images.filter(([n]) => n === MANIFEST)];
  for (const [name, bytes] of ordered) {
    try {
      writeFileBytes(p.sys, `${dir}/${name}`, bytes);
    } catch (e) {
      fail(`writing ${dir}/${name}: ${why(e)}; the tree keeps running`);
    }
  }
  if (preDump) {
    if (opts.has('v')) p.out(`Pre-dumped pid ${pid}: ${reply.processes} processes, ${reply.pagesWritten} pages written, ${reply.pagesInParent} in the parent, in ${dir}\n`);
    return 0;
  }
  if (!opts.has('R')) {
    for (const victim of reply.pids) p.attempt(() => p.sys.kill(victim, SIGKILL));
  }
  if (opts.has('v')) {
    p.out(`Dumped pid ${pid}: ${reply.processes} processes, ${reply.tasks} threads, ${reply.images.length} images in ${dir}${opts.has('R') ? ' (left running)' : ''}\n`);
    for (const r of reply.report) p.out(`  not identical after restore: ${reportLine(r)}\n`);
  }
  return 0;
}

// ---- restore ----

/** `rel` relative to `dir` (absolute stays absolute). */
function joinDir(dir: string, rel: string): string {
  return rel.startsWith('/') ? rel : `${dir}/${rel}`;
}

/** The *.img files of `dir` and its `parent` link, or undefined if `dir` is not a directory. */
function readImagesDir(p: Proc<CrState>, dir: string): Map<string, Uint8Array> | undefined {
  if (!isDir(p.sys, dir)) return undefined;
  let names: string[];
  try {
    names = imageNames(p.sys, dir);
  } catch (e) {
    fail(`can't read images directory ${dir}: ${why(e)}`);
  }
  if (names.length === 0) fail(`no images (*.img) in ${dir}`);
  const manifest = p.attempt(() => p.sys.stat(`${dir}/${MANIFEST}`));
  if (manifest.ok && (manifest.value.st_mode & S_IFMT) === S_IFREG) names.push(MANIFEST);
  const out = new Map<string, Uint8Array>();
  for (const n of names) {
    try {
      out.set(n, readFileBytes(p.sys, `${dir}/${n}`));
    } catch (e) {
      fail(`reading ${dir}/${n}: ${why(e)}`);
    }
  }
  const link = p.attempt(() => readFileBytes(p.sys, `${dir}/${PARENT_FILE}`));
  if (link.ok) out.set(PARENT_FILE, link.value);
  return out;
}

/** cr dedup: rewrites the parents' pagemaps and pages files without the pages a later round holds. */
function crDedup(p: Proc<CrState>, opts: Map<string, string[]>): number {
  const dir = opt(opts, 'D');
  if (dir === undefined) throw new UsageError('dedup: an images directory is required (-D DIR)');
  const dirs: string[] = [];
  const { files, freed } = dedupChain(readChain(p, dir, dirs));
  const write = (d: string, name: string, bytes: Uint8Array) => {
    try {
      writeFileBytes(p.sys, `${d}/${name}`, bytes);
    } catch (e) {
      fail(`writing ${d}/${name}: ${why(e)}`);
    }
  };
  // The manifests last (dedupChain rewrites each changed round's), so a cut-short dedup is refused, not trusted.
  for (const [level, name, bytes] of files.filter(([, n]) => n !== MANIFEST)) write(dirs[level]!, name, bytes);
  for (const [level, name, bytes] of files.filter(([, n]) => n === MANIFEST)) write(dirs[level]!, name, bytes);
  p.out(`Deduplicated ${dir}: ${freed} pages freed in ${new Set(files.map(([l]) => l)).size} parent rounds\n`);
  return 0;
}

/** A round and its parents (pre-dump chain), parents' images under `parent/` prefixes. */
function readChain(p: Proc<CrState>, dir: string, dirs: string[] = []): Map<string, Uint8Array> {
  try {
    imageNames(p.sys, dir);
  } catch (e) {
    fail(`can't read images directory ${dir}: ${why(e)}`);
  }
  let images: Map<string, Uint8Array>;
  try {
    images = loadImageChain(dir, (d) => readImagesDir(p, d), joinDir, dirs);
  } catch (e) {
    if (e instanceof ImageError) fail(e.offset ? `${e.file}@${e.offset}: ${e.reason}` : `${e.file}: ${e.reason}`);
    throw e;
  }
  if (![...images.keys()].some((n) => !n.includes('/') && n.endsWith('.img'))) fail(`no images (*.img) in ${dir}`);
  return images;
}

function crRestore(p: Proc<CrState>, opts: Map<string, string[]>): number | 'wait' | 'lazy' {
  const dir = opt(opts, 'D');
  if (dir === undefined) throw new UsageError('restore: an images directory is required (-D DIR)');
  const strategy = opt(opts, 's') ?? 'nsd';
  if (!(STRATEGIES as readonly string[]).includes(strategy)) throw new UsageError(`restore: unknown strategy '${strategy}' (expected ${STRATEGIES.join(', ')})`);
  const images: Array<[string, Uint8Array]> = [...readChain(p, dir)];
  const checksummed = images.some(([n]) => n === MANIFEST);
  const ipcOnly = opts.has('I');
  // A child cloned during the restore starts as a copy of this program: with --ipc-only that child
  // is the namespace holder; otherwise the engine replaces its program with the saved one.
  p.state.phase = 'hold';
  let reply;
  try {
    reply = p.sys.nsd_cr('restore', { images, strategy, ipcOnly, lazyPages: opts.has('L') });
  } catch (e) {
    p.state.phase = 'run';
    fail(`${why(e)}; nothing was restored`);
  }
  p.state.phase = 'run';
  p.state.pid = reply.pid;
  const pidfile = opt(opts, 'P');
  if (pidfile !== undefined) {
    const r = p.attempt(() => writeFileBytes(p.sys, pidfile, new TextEncoder().encode(`${reply.pid}\n`)));
    if (!r.ok) p.err(`cr: can't write pidfile ${pidfile}: ${strerror(r.code)}\n`);
  }
  if (ipcOnly) {
    p.out(`IPC namespace restored (${strategy}), held by pid ${reply.pid}\n`);
    if (!checksummed) p.out(`Images: a CRIU dump (no ${MANIFEST}): its CRIU images carry no checksum, so they were not verified\n`);
    if (reply.missing.length > 0) {
      p.out(`Not in the images, so not restored:\n`);
      for (const m of reply.missing) p.out(`  ${m}\n`);
    }
  }
  if (reply.report.length > 0) {
    if (opts.has('v')) for (const r of reply.report) p.err(`cr: not restored: ${reportLine(r)}\n`);
    else p.err(`cr: ${strategy}: ${reply.report.length} saved fields could not be restored (-v lists them)\n`);
  }
  if (opts.has('v') && !ipcOnly) p.out(`Restored pid ${reply.pid} (${strategy})${reply.lazy ? ', memory lazy' : ''}\n`);
  if (reply.lazy && reply.lazy.length > 0) {
    p.state.lazy = { images, regs: reply.lazy, detach: opts.has('d') };
    return 'lazy';
  }
  return opts.has('d') ? 0 : 'wait';
}

// ---- show, check ----

function crShow(p: Proc<CrState>, operands: string[]): number {
  if (operands.length !== 1) throw new UsageError('show: one FILE or DIR is required');
  const path = operands[0]!;
  let files: string[];
  try {
    files = isDir(p.sys, path) ? imageNames(p.sys, path).map((n) => `${path}/${n}`) : [path];
  } catch (e) {
    fail(`can't read ${path}: ${why(e)}`);
  }
  const shown = files.map((f) => {
    let bytes: Uint8Array;
    try {
      bytes = readFileBytes(p.sys, f);
    } catch (e) {
      fail(`can't read ${f}: ${why(e)}`);
    }
    try {
      return showImage(bytes, f);
    } catch (e) {
      fail(`${f}: ${e instanceof Error ? e.message : String(e)}`);
    }
  });
  p.out(JSON.stringify(files.length === 1 && !isDir(p.sys, path) ? shown[0] : shown, null, 2) + '\n');
  return 0;
}

function crCheck(p: Proc<CrState>): number {
  const c = p.sys.nsd_cr('check');
  p.out(`Kernel profile: ${c.profile}\n`);
  for (const [name, reason] of Object.entries(c.strategies)) p.out(`Strategy ${name.padEnd(9)}${reason === null ? 'supported' : `unsupported: ${reason}`}\n`);
  for (const f of c.features) p.out(`Feature  ${f.name.padEnd(24)}${f.ok ? 'yes' : 'no '}  ${f.note}\n`);
  for (const s of c.syscalls) p.out(`Syscall  ${s.name.padEnd(24)}${formatSyscallSupport(s)}\n`);
  const bad = Object.entries(c.strategies).filter(([, r]) => r !== null).map(([n]) => n);
  p.out(bad.length === 0 ? 'Looks good.\n' : `Looks good, but not for: ${bad.join(', ')}.\n`);
  return 0;
}

function run(p: Proc<CrState>): number | 'wait' | 'lazy' {
  const [cmd, ...rest] = p.argv.slice(1);
  if (cmd === undefined || cmd === '-h' || cmd === '--help' || cmd === 'help') {
    (cmd === undefined ? p.err.bind(p) : p.out.bind(p))(USAGE);
    return cmd === undefined ? 1 : 0;
  }
  const spec = SPECS[cmd];
  if (!spec) throw new UsageError(`unknown command '${cmd}' (try cr --help)`);
  const { opts, operands } = getopt(rest, spec);
  if (opts.has('h')) {
    p.out(HELP[cmd]!);
    return 0;
  }
  switch (cmd) {
    case 'dump':
      return crDump(p, opts);
    case 'pre-dump':
      return crDump(p, opts, true);
    case 'dedup':
      return crDedup(p, opts);
    case 'restore':
      return crRestore(p, opts);
    case 'show':
      return crShow(p, operands);
    default:
      return crCheck(p);
  }
}

export const CR = defineProgram<CrState>({
  name: CR_PATH,
  start: () => ({ phase: 'run', pid: 0 }),
  step(p) {
    const s = p.state;
    switch (s.phase) {
      case 'run': {
        let r: number | 'wait' | 'lazy';
        try {
          r = run(p);
        } catch (e) {
          if (e instanceof UsageError) {
            p.err(`cr: ${e.message}\n`);
            return p.exit(1);
          }
          if (e instanceof CrFailure) {
            p.err(`cr: ${p.argv[1]}: ${e.message}\n`);
            return p.exit(1);
          }
          throw e;
        }
        if (r === 'lazy') {
          s.phase = 'lazy';
          return p.call('sched_yield');
        }
        if (r !== 'wait') return p.exit(r);
        s.phase = 'wait';
        return p.call('wait4', s.pid, 0);
      }
      case 'wait':
        if (p.errno === 'EINTR') return p.call('wait4', s.pid, 0);
        if (!p.ok) {
          p.err(`cr: restore: wait for pid ${s.pid}: ${strerror(p.errno!)}\n`);
          return p.exit(1);
        }
        return p.exit(exitCodeOf(p.value<{ status: number }>().status));
      case 'hold': {
        // The --ipc-only holder: keep the namespace alive until killed (a read nobody answers).
        s.phase = 'holding';
        const r = p.attempt(() => p.sys.pipe2(O_CLOEXEC));
        if (!r.ok) return p.exit(1);
        s.pid = r.value[0];
        return p.call('read', r.value[0], 1);
      }
      case 'holding':
        return p.call('read', s.pid, 1);
      case 'lazy': {
        // One round of the lazy-pages daemon, then let the tree run.
        const l = s.lazy!;
        const r = p.attempt(() => p.sys.nsd_cr('lazy', { images: l.images, lazy: l.regs, push: 16 }));
        if (!r.ok) {
          p.err(`cr: restore: serving lazy pages: ${strerror(r.code)}\n`);
          return p.exit(1);
        }
        if (r.value.remaining > 0 || r.value.served + r.value.pushed > 0) return p.call('sched_yield');
        delete s.lazy;
        if (l.detach) return p.exit(0);
        s.phase = 'wait';
        return p.call('wait4', s.pid, 0);
      }
    }
  },
});

/** Installs /sbin/cr in a kernel and gives the kernel the c/r engine behind nsd_cr. */
export function installCr(k: Kernel): void {
  installCrEngine(k);
  try {
    k.init.sys.mkdir('/sbin', 0o755);
  } catch {
    // exists
  }
  k.installProgram(CR, CR_PATH);
}
