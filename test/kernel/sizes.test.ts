/**
 * Huge sizes (issue 9, B15): counts are clamped to MAX_RW_COUNT as rw_verify_area does, tmpfs
 * files are sparse (a hole costs nothing, in memory or in a snapshot), and the model's s_maxbytes
 * (2^53 − 1) gives EFBIG/EINVAL where Linux's MAX_LFS_FILESIZE would.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel, constants as C } from '../../src/index.js';
import { MAX_RW_COUNT } from '../../src/kernel/fs/filedata.js';
import { boot, expectErrno } from '../helpers.js';

const enc = new TextEncoder();

test('read(/dev/zero) of 2^32 or 2^40 bytes returns MAX_RW_COUNT zeros (rw_verify_area clamps)', () => {
  const k = boot();
  const init = k.init;
  const fd = init.sys.open('/dev/zero', C.O_RDONLY);
  assert.equal(MAX_RW_COUNT, 0x7ffff000);
  for (const count of [2 ** 32, 2 ** 40]) {
    const got = init.sys.read(fd, count);
    assert.equal(got.length, MAX_RW_COUNT);
    assert.equal(got[got.length - 1], 0);
  }
  const f = init.sys.open('/tmp/small', C.O_RDWR | C.O_CREAT, 0o644);
  init.sys.write(f, 'abc');
  init.sys.lseek(f, 0, C.SEEK_SET);
  assert.equal(init.sys.read(f, 2 ** 40).length, 3);
});

test('lseek past 4 GiB then write: a sparse file; holes read as zeros; snapshots copy only pages', () => {
  const k = boot();
  const init = k.init;
  const fd = init.sys.open('/tmp/sparse', C.O_RDWR | C.O_CREAT, 0o644);
  assert.equal(init.sys.lseek(fd, 2 ** 32, C.SEEK_SET), 2 ** 32);
  assert.equal(init.sys.write(fd, 'X'), 1);
  const st = init.sys.fstat(fd);
  assert.equal(st.st_size, 2 ** 32 + 1);
  assert.equal(st.st_blocks, 8, 'one 4 KiB page allocated');
  init.sys.lseek(fd, 2 ** 32 - 2, C.SEEK_SET);
  assert.deepEqual([...init.sys.read(fd, 10)], [0, 0, 0x58]);
  const k2 = Kernel.fromState(k.snapshot(), { programs: k.programs.values() });
  const t2 = k2.init;
  t2.sys.lseek(fd, 2 ** 32, C.SEEK_SET);
  assert.deepEqual([...t2.sys.read(fd, 1)], [0x58]);
});

test('ftruncate to 2^32 and 2^40 allocates nothing and snapshots; shrinking zeroes the cut tail', () => {
  const k = boot();
  const init = k.init;
  const fd = init.sys.open('/tmp/big', C.O_RDWR | C.O_CREAT, 0o644);
  init.sys.write(fd, 'abcdef');
  init.sys.ftruncate(fd, 2);
  init.sys.ftruncate(fd, 6);
  init.sys.lseek(fd, 0, C.SEEK_SET);
  assert.deepEqual([...init.sys.read(fd, 100)], [...enc.encode('ab'), 0, 0, 0, 0]);
  for (const size of [2 ** 32, 2 ** 40]) {
    init.sys.ftruncate(fd, size);
    assert.equal(init.sys.fstat(fd).st_size, size);
    assert.equal(init.sys.fstat(fd).st_blocks, 8);
  }
  const snap = k.snapshot();
  assert.equal(Kernel.fromState(snap).init.sys.fstat(fd).st_size, 2 ** 40);
  init.sys.ftruncate(fd, 0);
  assert.equal(init.sys.fstat(fd).st_blocks, 0);
});

test('the model s_maxbytes (2^53 − 1): EFBIG for ftruncate and writes beyond it, EINVAL for lseek', () => {
  const k = boot();
  const init = k.init;
  const max = Number.MAX_SAFE_INTEGER;
  const fd = init.sys.open('/tmp/edge', C.O_RDWR | C.O_CREAT, 0o644);
  expectErrno(() => init.sys.ftruncate(fd, -1), 'EINVAL');
  init.sys.ftruncate(fd, max);
  assert.equal(init.sys.lseek(fd, 0, C.SEEK_END), max);
  expectErrno(() => init.sys.lseek(fd, 1, C.SEEK_END), 'EINVAL');
  expectErrno(() => init.sys.write(fd, 'x'), 'EFBIG');
  // A write that would cross the limit is cut short there (generic_write_check_limits).
  init.sys.lseek(fd, max - 2, C.SEEK_SET);
  assert.equal(init.sys.write(fd, 'abcd'), 2);
  assert.equal(init.sys.write(fd, ''), 0);
  k.snapshot();
});

test('lseek per file kind, as Linux 6.18: SEEK_DATA/SEEK_HOLE on sparse tmpfs files, null_lseek, dirs, procfs', () => {
  const k = boot();
  const init = k.init;
  const SEEK_DATA = 3;
  const SEEK_HOLE = 4;
  const fd = init.sys.open('/tmp/holes', C.O_RDWR | C.O_CREAT, 0o644);
  init.sys.write(fd, 'a');
  init.sys.lseek(fd, 3 * 4096, C.SEEK_SET);
  init.sys.write(fd, 'b');
  const at = (off: number, wh: number): number | string => {
    try {
      return init.sys.lseek(fd, off, wh);
    } catch (e) {
      return (e as { code: string }).code;
    }
  };
  // The same rows as python's os.lseek on a 6.18 tmpfs.
  assert.deepEqual(
    [at(0, SEEK_DATA), at(1, SEEK_DATA), at(4096, SEEK_DATA), at(12289, SEEK_DATA), at(-1, SEEK_DATA), at(0, SEEK_HOLE), at(12288, SEEK_HOLE), at(5000, SEEK_HOLE), at(12289, SEEK_HOLE)],
    [0, 1, 12288, 'ENXIO', 'ENXIO', 4096, 12289, 5000, 'ENXIO'],
  );
  init.sys.ftruncate(fd, 2 ** 40);
  assert.deepEqual([at(0, SEEK_DATA), at(13000, SEEK_DATA), at(13000, SEEK_HOLE), init.sys.fstat(fd).st_blocks], [0, 13000, 16384, 16]);
  assert.equal(at(0, 5), 'EINVAL');
  const nul = init.sys.open('/dev/null', C.O_RDWR);
  assert.deepEqual([init.sys.lseek(nul, 100, C.SEEK_SET), init.sys.lseek(nul, 5, C.SEEK_END), init.sys.lseek(nul, 7, SEEK_DATA)], [0, 0, 0]);
  const dir = init.sys.open('/tmp', C.O_RDONLY | C.O_DIRECTORY);
  expectErrno(() => init.sys.lseek(dir, 0, C.SEEK_END), 'EINVAL');
  expectErrno(() => init.sys.lseek(dir, 0, SEEK_DATA), 'EINVAL');
  // A directory position is the readdir cursor: seekdir to an entry's d_off resumes after it.
  const all = init.sys.getdents64(dir);
  init.sys.lseek(dir, all[1]!.d_off, C.SEEK_SET);
  assert.deepEqual(init.sys.getdents64(dir).map((d) => d.d_name), all.slice(2).map((d) => d.d_name));
  const rows = (path: string) => {
    const p = init.sys.open(path, C.O_RDONLY);
    return [0, 1, 2, 3, 4].map((wh) => {
      try {
        return init.sys.lseek(p, 5, wh);
      } catch (e) {
        return (e as { code: string }).code;
      }
    });
  };
  assert.deepEqual(rows('/proc/self'), [5, 10, 5, 'ENXIO', 'ENXIO']);
  assert.deepEqual(rows('/proc/sys/kernel/pid_max'), [5, 10, 5, 'ENXIO', 'ENXIO']);
  assert.deepEqual(rows('/proc/self/status'), [5, 10, 'EINVAL', 'EINVAL', 'EINVAL']);
});
