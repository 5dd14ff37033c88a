/**
 * execve() (fs/exec.c).
 *
 * Design note. A program is code installed in a kernel's program table under a name (each Kernel
 * has its own table: `Kernel.installProgram`); a file in the VFS whose content starts with the
 * magic `\x7fNSD <name>\n` runs it, the way an ELF header names a binary format. Files
 * starting with `#!` are scripts (binfmt_script: interpreter, optional argument, the script path,
 * then argv[1..]; at most 4 levels, then ELOOP). Anything else is ENOEXEC.
 * The point of no return (flush_old_exec) kills the other threads (de_thread: an exec'ing
 * non-leader thread takes over the leader's pid), clears next_syscall_data (patch 1/5), releases a
 * vfork parent, unshares the fd table and closes close-on-exec fds, replaces the address space
 * (detaching shm), and resets handled signals to SIG_DFL (ignored ones stay ignored).
 */
import { err } from '../../abi/errno.js';
import { SIG_IGN, SIG_DFL } from '../../abi/constants.js';
import type { KernelCore } from '../core.js';
import type { InodeState, TaskState } from '../state.js';
import { setFileContent, readFileRange } from '../fs/filedata.js';
import { checkPathArg, link, newInode, permission, resolve, resolveParent, MAY_EXEC } from '../fs/vfs.js';
import { execFdTable } from '../fs/fdtable.js';
import { newMm, putMm } from '../mm/mm.js';
import { freePid } from '../pid/pid.js';
import { exitThread, releaseVfork } from './exit.js';

export const PROGRAM_MAGIC = '\x7fNSD ';
const BINPRM_MAX_RECURSION = 4;
/** TASK_COMM_LEN - 1. */
const COMM_MAX = 15;

/** Creates (or replaces) an executable file at `path` that runs program `name`. */
export function installProgramFile(k: KernelCore, path: string, name: string, root: TaskState): void {
  const content = new TextEncoder().encode(`${PROGRAM_MAGIC}${name}\n`);
  const { dir, name: base, child } = resolveParent(k, root, path, '/');
  let ino: InodeState;
  if (child !== undefined) ino = k.inode(child);
  else {
    ino = newInode(k, 'reg', 0o755, 0, 0);
    link(k, dir, base, ino);
  }
  setFileContent(ino, content);
}

interface Image {
  program: string;
  argv: string[];
  path: string;
}

/** search_binary_handler(): finds the program a file runs, following `#!` scripts. */
function loadImage(k: KernelCore, t: TaskState, path: string, argv: string[], depth: number): Image {
  const { node, path: full } = resolve(k, t, path);
  if (node.kind !== 'vfs') throw err('EACCES');
  const ino = k.inode(node.ino);
  if (ino.type !== 'reg') throw err('EACCES');
  permission(k, t, ino, MAY_EXEC);
  if (!(ino.perm & 0o111)) throw err('EACCES');
  const head = new TextDecoder().decode(readFileRange(ino, 0, Math.min(ino.size, 256)));
  if (head.startsWith(PROGRAM_MAGIC)) {
    const name = head.slice(PROGRAM_MAGIC.length).split('\n')[0]!.trim();
    // No handler for the format in this kernel: search_binary_handler's -ENOEXEC.
    if (!k.hasProgram(name)) throw err('ENOEXEC', `no program '${name}' is installed in this kernel`);
    return { program: name, argv, path: full };
  }
  if (head.startsWith('#!')) {
    if (depth >= BINPRM_MAX_RECURSION) throw err('ELOOP');
    const line = head.slice(2).split('\n')[0]!.trim();
    if (!line) throw err('ENOEXEC');
    const sp = line.search(/[ \t]/);
    const interp = sp < 0 ? line : line.slice(0, sp);
    const arg = sp < 0 ? '' : line.slice(sp).trim();
    const next = [interp, ...(arg ? [arg] : []), path, ...argv.slice(1)];
    return loadImage(k, t, interp, next, depth + 1);
  }
  throw err('ENOEXEC');
}

/** execve(path, argv, envp). On success the task runs the new program from its next step. */
export function execve(k: KernelCore, t: TaskState, path: unknown, argv: unknown, envp: unknown): TaskState {
  const p = checkPathArg(path);
  if (!isStringArray(argv) || !isStringArray(envp)) throw err('EFAULT');
  const image = loadImage(k, t, p, argv, 0);

  // ---- point of no return ----
  t = deThread(k, t);
  t.nsd = null;
  releaseVfork(k, t);
  execFdTable(k, t);
  putMm(k, t.mm, t.tgid);
  t.mm = newMm(k).id;
  const proc = k.proc(t.tgid);
  for (let sig = 1; sig < proc.sigaction.length; sig++) {
    if (proc.sigaction[sig] !== SIG_IGN) proc.sigaction[sig] = SIG_DFL;
  }
  t.comm = (image.path.split('/').pop() ?? '').slice(0, COMM_MAX);
  t.prog = { name: image.program, argv: image.argv, envp, data: null, result: null, signals: [] };
  if (t.state === 'running') k.enqueue(t.kid);
  return t;
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}

/**
 * de_thread(): every other thread exits; a non-leader takes over the leader's pid and kid.
 * Returns the (possibly re-keyed) task state.
 */
function deThread(k: KernelCore, t: TaskState): TaskState {
  const proc = k.proc(t.tgid);
  // Every other thread exits, the leader too (it stays a zombie: the group is not done).
  for (const kid of [...proc.threads]) {
    const other = kid === t.kid ? undefined : k.s.tasks.get(kid);
    if (other) exitThread(k, other, 0);
  }
  if (t.kid === t.tgid) return t;
  const leader = k.t(t.tgid);
  // The leader's numbers become the exec'ing thread's; the thread's own numbers are freed.
  freePid(k, t.pidns, t.pids);
  const oldKid = t.kid;
  leader.state = 'dead';
  k.s.tasks.delete(leader.kid);
  // The leader's numbers (already mapped to its kid in every namespace) now name this task.
  t.kid = leader.kid;
  t.pids = leader.pids;
  k.s.tasks.delete(oldKid);
  k.s.tasks.set(t.kid, t);
  proc.threads = [t.kid];
  k.unqueue(oldKid);
  return t;
}
