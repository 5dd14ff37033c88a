/**
 * Open file descriptions (struct file) and the read/write/lseek paths of each file kind:
 * tmpfs regular files, directories, pipes and fifos (fs/pipe.c), character devices (/dev/null,
 * /dev/zero) and procfs files (generated content, see src/kernel/proc).
 *
 * Pipes follow fs/pipe.c: capacity 65536 bytes; a write of ≤ PIPE_BUF bytes is atomic (all or
 * wait); larger writes may be split; no reader → EPIPE and SIGPIPE; an empty pipe with no writer
 * reads 0; O_NONBLOCK turns waits into EAGAIN. Wait channels: `pipe:<ino>:r` (readers wait for data)
 * and `pipe:<ino>:w` (writers wait for room).
 */
import { err } from '../../abi/errno.js';
import { O_ACCMODE, O_APPEND, O_NONBLOCK, O_RDONLY, O_WRONLY, SIGPIPE } from '../../abi/constants.js';
import type { KernelCore } from '../core.js';
import type { FileKind, OpenFileState, ProcNode, TaskState } from '../state.js';
import { block } from '../sched/block.js';
import { ensureCapacity, maybeFreeInode } from './vfs.js';
import { procRead, procWrite } from '../proc/procfs.js';
import { MAX_RW_COUNT, clampRwCount, readFileRange, writeFileRange, writeLimit } from './filedata.js';
import { putPidNs } from '../pid/pid.js';

export const PIPE_BUF = 4096;
export const PIPE_SIZE = 65536;

export function newFile(k: KernelCore, kind: FileKind, flags: number, ino: number, path: string, proc: ProcNode | null): OpenFileState {
  const f: OpenFileState = { id: k.newId(), refs: 0, kind, flags, pos: 0, ino, path, proc, dirPos: 0 };
  k.s.files.set(f.id, f);
  if (ino) {
    const node = k.inode(ino);
    node.openRefs++;
    if (kind === 'pipe') {
      if (canRead(f)) node.readers++;
      if (canWrite(f)) node.writers++;
    }
  }
  return f;
}

export function canRead(f: OpenFileState): boolean {
  return (f.flags & O_ACCMODE) !== O_WRONLY;
}

export function canWrite(f: OpenFileState): boolean {
  return (f.flags & O_ACCMODE) !== O_RDONLY;
}

/** fput(): drops one reference; the last one releases the file (pipe ends, inode refs). */
export function releaseFile(k: KernelCore, fid: number): void {
  const f = k.file(fid);
  if (--f.refs > 0) return;
  k.s.files.delete(fid);
  // A /proc file names the pid namespace it was resolved in.
  if (f.proc) putPidNs(k);
  if (!f.ino) return;
  const node = k.s.inodes.get(f.ino);
  if (!node) return;
  node.openRefs--;
  if (f.kind === 'pipe') {
    if (canRead(f)) node.readers--;
    if (canWrite(f)) node.writers--;
    k.wake(`pipe:${node.ino}:r`);
    k.wake(`pipe:${node.ino}:w`);
  }
  maybeFreeInode(k, node);
}

/** vfs_read(): `count` bytes at the file position. */
export function fileRead(k: KernelCore, t: TaskState, f: OpenFileState, count: number): Uint8Array {
  if (!canRead(f)) throw err('EBADF');
  if (!Number.isInteger(count) || count < 0) throw err('EINVAL');
  // rw_verify_area(): at most MAX_RW_COUNT bytes per call. A direct read returns a fresh array of
  // what was read; /dev/zero's is zero-filled by the allocator, which takes no memory until touched.
  count = clampRwCount(count);
  switch (f.kind) {
    case 'pipe':
      return pipeRead(k, f, count);
    case 'proc': {
      const out = procRead(k, t, f, count);
      f.pos += out.length;
      return out;
    }
    case 'dev': {
      const dev = k.inode(f.ino).dev;
      // read_zero: /dev/zero and /dev/full read as zeros.
      if (dev === 'zero' || dev === 'full') return new Uint8Array(count);
      const ops = k.devices.get(dev);
      if (!ops?.read) return new Uint8Array(0);
      const got = ops.read(k, count);
      if (got === null) {
        if (f.flags & O_NONBLOCK) throw err('EAGAIN');
        block(`dev:${dev}`);
      }
      return got;
    }
    case 'vfs': {
      const node = k.inode(f.ino);
      if (node.type === 'dir') throw err('EISDIR');
      const start = Math.min(f.pos, node.size);
      const end = Math.min(node.size, start + count);
      f.pos = end > start ? end : f.pos;
      return readFileRange(node, start, end);
    }
  }
}

/** vfs_write(): returns the number of bytes written. */
export function fileWrite(k: KernelCore, t: TaskState, f: OpenFileState, bytes: Uint8Array): number {
  if (!canWrite(f)) throw err('EBADF');
  // rw_verify_area(): at most MAX_RW_COUNT bytes per call.
  if (bytes.length > MAX_RW_COUNT) bytes = bytes.subarray(0, MAX_RW_COUNT);
  switch (f.kind) {
    case 'pipe':
      return pipeWrite(k, t, f, bytes);
    case 'proc':
      // procWrite moves the position itself (next_syscall_data never does).
      return procWrite(k, t, f, bytes);
    case 'dev': {
      const dev = k.inode(f.ino).dev;
      // write_full: every write to /dev/full fails with ENOSPC.
      if (dev === 'full') throw err('ENOSPC');
      const ops = k.devices.get(dev);
      return ops?.write ? ops.write(k, bytes) : bytes.length;
    }
    case 'vfs': {
      const node = k.inode(f.ino);
      if (node.type === 'dir') throw err('EISDIR');
      const at = f.flags & O_APPEND ? node.size : f.pos;
      const n = writeLimit(at, bytes.length);
      writeFileRange(node, at, n < bytes.length ? bytes.subarray(0, n) : bytes);
      node.mtimeNs = node.ctimeNs = k.s.clockNs;
      f.pos = at + n;
      return n;
    }
  }
}

function pipeRead(k: KernelCore, f: OpenFileState, count: number): Uint8Array {
  const p = k.inode(f.ino);
  if (count === 0) return new Uint8Array(0);
  if (p.size === 0) {
    if (p.writers === 0) return new Uint8Array(0);
    if (f.flags & O_NONBLOCK) throw err('EAGAIN');
    block(`pipe:${p.ino}:r`);
  }
  const n = Math.min(count, p.size);
  const out = p.data.slice(0, n);
  p.data.copyWithin(0, n, p.size);
  p.size -= n;
  k.wake(`pipe:${p.ino}:w`);
  return out;
}

function pipeWrite(k: KernelCore, t: TaskState, f: OpenFileState, bytes: Uint8Array): number {
  const p = k.inode(f.ino);
  // Progress saved by an earlier part of this write (large writes may be split).
  const resumed = k.resuming?.data as { done: number } | null | undefined;
  let done = resumed?.done ?? 0;
  if (p.readers === 0) {
    k.sendSignalToTask(t.kid, SIGPIPE);
    if (done > 0) return done;
    throw err('EPIPE');
  }
  if (bytes.length === 0) return 0;
  ensureCapacity(p, PIPE_SIZE);
  const room = PIPE_SIZE - p.size;
  const left = bytes.length - done;
  // ≤ PIPE_BUF: all at once or not at all.
  const atomic = bytes.length <= PIPE_BUF;
  if (room === 0 || (atomic && room < left)) {
    if (f.flags & O_NONBLOCK) {
      if (done > 0) return done;
      throw err('EAGAIN');
    }
    block(`pipe:${p.ino}:w`, null, { done }, done > 0 ? done : undefined);
  }
  const n = Math.min(room, left);
  p.data.set(bytes.subarray(done, done + n), p.size);
  p.size += n;
  done += n;
  k.wake(`pipe:${p.ino}:r`);
  if (done < bytes.length) {
    if (f.flags & O_NONBLOCK) return done;
    block(`pipe:${p.ino}:w`, null, { done }, done);
  }
  return done;
}
