/**
 * The with-id IPC syscalls take their arguments as the plain ones do: shmget_with_id's size is a
 * size_t like shmget's (a bigint is taken, not refused as a non-int register).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel, constants as C } from '../../../src/index.js';
import { expectErrno } from '../../helpers.js';

test('shmget_with_id takes a size_t size like shmget (number or bigint)', () => {
  const k = new Kernel();
  const sys = k.init.sys;
  assert.equal(sys.shmget_with_id(65540, 0x11, 8192n, 0o600), 65540);
  assert.equal(sys.shmctl(65540, C.IPC_STAT).shm_segsz, 8192);
  assert.equal(sys.shmget_with_id(7, 0x12, 4096, 0o600), 7);
  // Above shmmax: EINVAL from newseg, as shmget.
  expectErrno(() => sys.shmget_with_id(8, 0x13, 2n ** 64n - 1n, 0o600), 'EINVAL');
  expectErrno(() => sys.shmget(0x13, 2n ** 64n - 1n, C.IPC_CREAT | 0o600), 'EINVAL');
});
