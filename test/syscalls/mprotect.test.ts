/** mprotect(2) on the model's mappings (do_mprotect_pkey): errnos, splits, shm SHM_RDONLY. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel } from '../../src/syscalls/scheduler.js';
import * as C from '../../src/abi/constants.js';
import { expectErrno } from '../helpers.js';


const RW = 3;
const ANON = 0x22; // MAP_PRIVATE | MAP_ANONYMOUS

test('mprotect: protection follows, the mapping is split at the range ends, reads and writes obey it', () => {
  const k = new Kernel();
  const t = k.init;
  const a = t.sys.mmap(0, 4 * 4096, RW, ANON);
  t.memory.write(a + 4096, 'x');
  assert.equal(t.sys.mprotect(a + 4096, 4096, 1), 0);
  const maps = k.mm(t.state.mm).maps.filter((m) => m.start >= a && m.start < a + 4 * 4096).map((m) => [m.start - a, m.len, m.prot]);
  assert.deepEqual(maps, [[0, 4096, RW], [4096, 4096, 1], [8192, 8192, RW]]);
  assert.equal(new TextDecoder().decode(t.memory.read(a + 4096, 1)), 'x', 'content survives the split');
  expectErrno(() => t.memory.write(a + 4096, 'y'), 'EFAULT');
  t.memory.write(a, 'ok');
  assert.equal(t.sys.mprotect(a, 4 * 4096, 0), 0);
  expectErrno(() => t.memory.read(a, 1), 'EFAULT');
  // len 0 is a no-op even unmapped; a length is rounded up to pages.
  assert.equal(t.sys.mprotect(0x1000, 0, RW), 0);
  assert.equal(t.sys.mprotect(a, 1, RW), 0);
  assert.equal(k.mm(t.state.mm).maps.find((m) => m.start === a)!.len, 4096);
});

test('mprotect errnos: EINVAL alignment and bad prot, ENOMEM unmapped (nothing changed when the start is)', () => {
  const k = new Kernel();
  const t = k.init;
  const a = t.sys.mmap(0, 2 * 4096, RW, ANON);
  expectErrno(() => t.sys.mprotect(a + 1, 4096, 1), 'EINVAL');
  expectErrno(() => t.sys.mprotect(a, 4096, 0x10), 'EINVAL');
  expectErrno(() => t.sys.mprotect(a, 4096, 1 | 0x01000000 | 0x02000000), 'EINVAL');
  expectErrno(() => t.sys.mprotect(a, 4096, 1 | 0x01000000), 'EINVAL');
  assert.equal(t.sys.mprotect(a, 4096, RW | 0x8), 0, 'PROT_SEM is allowed');
  expectErrno(() => t.sys.mprotect(a - 4096, 2 * 4096, 1), 'ENOMEM');
  expectErrno(() => t.sys.mprotect(0x10000, 4096, 1), 'ENOMEM');
  assert.deepEqual(k.mm(t.state.mm).maps.filter((m) => m.start === a).map((m) => m.prot), [RW], 'nothing changed');
  // A hole after the first mapping: ENOMEM, and the first keeps its new protection (as Linux).
  assert.equal(t.sys.munmap(a + 4096, 4096), 0);
  expectErrno(() => t.sys.mprotect(a, 2 * 4096, 1), 'ENOMEM');
  assert.equal(k.mm(t.state.mm).maps.find((m) => m.start === a)!.prot, 1);
});

test('mprotect of shm: a SHM_RDONLY attach cannot get PROT_WRITE (EACCES); a split piece counts as an attach', () => {
  const k = new Kernel();
  const t = k.init;
  const id = t.sys.shmget(C.IPC_PRIVATE, 3 * 4096, C.IPC_CREAT | 0o600);
  const ro = t.sys.shmat(id, 0, C.SHM_RDONLY);
  expectErrno(() => t.sys.mprotect(ro, 4096, RW), 'EACCES');
  assert.equal(t.sys.mprotect(ro, 4096, 0), 0, 'removing access is allowed');
  assert.equal(t.sys.shmctl(id, C.IPC_STAT).shm_nattch, 2, 'split_vma opened the segment again');
  const rw = t.sys.shmat(id, 0, 0);
  assert.equal(t.sys.mprotect(rw + 4096, 4096, 1), 0);
  expectErrno(() => t.memory.write(rw + 4096, 'z'), 'EFAULT');
  t.memory.write(rw + 2 * 4096, 'tail');
  assert.equal(new TextDecoder().decode(t.memory.read(ro + 2 * 4096, 4)), 'tail', 'the tail piece maps the same segment offset');
  assert.equal(t.sys.shmctl(id, C.IPC_STAT).shm_nattch, 5);
  assert.equal(t.sys.shmdt(ro), 0);
  assert.equal(t.sys.shmdt(rw), 0);
});
