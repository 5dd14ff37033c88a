/** ErrnoError: the syscall name is added without losing the detail; code and errno stay exact. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrnoError, constants as C } from '../../src/index.js';
import { boot, expectErrno } from '../helpers.js';

test('withSyscall keeps the detail text, code and errno', () => {
  const e = new ErrnoError('EINVAL', undefined, 'preset fd 7 out of range').withSyscall('open');
  assert.equal(e.message, 'EINVAL: Invalid argument, open (preset fd 7 out of range)');
  assert.equal(e.code, 'EINVAL');
  assert.equal(e.errno, 22);
  assert.equal(e.syscall, 'open');
  assert.equal(e.detail, 'preset fd 7 out of range');
  // The innermost name wins.
  assert.equal(e.withSyscall('openat').message, 'EINVAL: Invalid argument, open (preset fd 7 out of range)');
  assert.equal(new ErrnoError('EBADF').withSyscall('read').message, 'EBADF: Bad file descriptor, read');
});

test('an error leaving a syscall says why', () => {
  const k = boot();
  const init = k.init;
  const fd = init.sys.open(`/proc/self/task/1/next_syscall_data`, C.O_WRONLY);
  const e = expectErrno(() => init.sys.write(fd, 'LONG1 x'), 'EINVAL');
  assert.equal(e.syscall, 'write');
  assert.match(e.message, /^EINVAL: Invalid argument, write \(next_syscall_data: bad value 'x'\)$/);
  assert.equal(JSON.parse(JSON.stringify(e)).message, e.message);
});
