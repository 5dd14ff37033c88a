/** Shared test helpers: booting kernels, errno assertions, text I/O through the syscall API. */
import assert from 'node:assert/strict';
import { Kernel, ErrnoError, constants as C, type Task } from '../src/index.js';
import type { ErrnoCode } from '../src/abi/errno.js';
import type { ProfileName } from '../src/kernel/profile.js';

export const PROFILES: ProfileName[] = ['linux-6', 'linux-2.6.26'];

export function boot(profile: ProfileName = 'linux-6'): Kernel {
  return new Kernel({ profile });
}

/** Asserts that `fn` throws an ErrnoError with `code` (and returns it). */
export function expectErrno(fn: () => unknown, code: ErrnoCode, msg?: string): ErrnoError {
  try {
    const v = fn();
    assert.fail(`${msg ?? 'call'}: expected ${code}, got success (${String(v)})`);
  } catch (e) {
    if (!(e instanceof ErrnoError)) throw e;
    assert.equal(e.code, code, `${msg ?? 'call'}: expected ${code}, got ${e.code} (${e.message})`);
    return e;
  }
}

const dec = new TextDecoder();

/** Reads a whole file through open/read/close. */
export function readFile(t: Task, path: string): string {
  const fd = t.sys.open(path, C.O_RDONLY);
  let out = '';
  for (;;) {
    const chunk = t.sys.read(fd, 4096);
    if (chunk.length === 0) break;
    out += dec.decode(chunk);
  }
  t.sys.close(fd);
  return out;
}

/** Writes `text` to a file in one write() (creating nothing). */
export function writeFile(t: Task, path: string, text: string | Uint8Array, flags: number = C.O_WRONLY): number {
  const fd = t.sys.open(path, flags);
  try {
    return t.sys.write(fd, text);
  } finally {
    t.sys.close(fd);
  }
}

/** The task's own next_syscall_data file path. */
export function nsdPath(t: Task): string {
  return `/proc/self/task/${t.sys.gettid()}/next_syscall_data`;
}

/** Arms next_syscall_data of `t` (open, write, close: the open happens while unarmed). */
export function arm(t: Task, text: string): void {
  writeFile(t, nsdPath(t), text);
}
