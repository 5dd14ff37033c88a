/**
 * The mm layer: the sparse page store (issue 9 B15), remote access that never signals the target
 * (issue 9 A7), and dirty tracking through /proc/PID/{pagemap,clear_refs,smaps} (issue 10 §1).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { constants as C, Kernel, type Task } from '../../src/index.js';
import { boot, expectErrno, readFile } from '../helpers.js';

const PM_PRESENT = 1n << 63n;
const PM_FILE = 1n << 61n;
const PM_EXCL = 1n << 56n;
const PM_SD = 1n << 55n;
const PFN = (1n << 55n) - 1n;
const PAGE = 4096;
const RW = 3;
const ANON = 0x22;

/** Entries of `t`'s view of /proc/<pid>/pagemap for pages [addr, addr + n pages). */
function pagemap(t: Task, pid: number | 'self', addr: number, n: number): bigint[] {
  const fd = t.sys.open(`/proc/${pid}/pagemap`, C.O_RDONLY);
  t.sys.lseek(fd, (addr / PAGE) * 8, C.SEEK_SET);
  const b = t.sys.read(fd, n * 8);
  t.sys.close(fd);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return Array.from({ length: b.length / 8 }, (_, i) => dv.getBigUint64(i * 8, true));
}

function clearRefs(t: Task, pid: number | 'self', v: string): void {
  const fd = t.sys.open(`/proc/${pid}/clear_refs`, C.O_WRONLY);
  try {
    t.sys.write(fd, v);
  } finally {
    t.sys.close(fd);
  }
}

test('page store: a 1 GiB mapping or shm segment with 8 bytes written holds one page, in the kernel and in a snapshot', () => {
  const k = boot();
  const t = k.task(k.init.sys.fork())!;
  const a = t.sys.mmap(0, 2 ** 30, RW, ANON);
  t.memory.write(a + 2 ** 29 + 5, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
  const m = k.mm(t.state.mm).maps.find((x) => x.start === a)!;
  assert.equal(m.pages.size, 1);
  const id = t.sys.shmget(C.IPC_PRIVATE, 2 ** 30, 0o600);
  const s = t.sys.shmat(id, 0, 0);
  t.memory.write(s + 12345, 'abcdefgh');
  t.memory.write(s + 4096 * 7, new Uint8Array(4096)); // zeros allocate nothing
  const snap = k.snapshot();
  const k2 = Kernel.fromState(snap);
  const t2 = k2.task(t.kid)!;
  assert.equal(new TextDecoder().decode(t2.memory.read(s + 12345, 8)), 'abcdefgh');
  assert.deepEqual([...t2.memory.read(a + 2 ** 29 + 5, 8)], [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(t2.memory.read(a, 4096).every((x) => x === 0), true, 'untouched pages read as zero');
  const pagesHeld = [...k2.s.mms.values()].flatMap((mm) => mm.maps).reduce((n, x) => n + x.pages.size, 0);
  assert.equal(pagesHeld, 1, 'the snapshot holds the one anonymous page');
  // shm_rss counts the one resident page of the segment.
  assert.equal((t2.sys.shmctl(0, C.SHM_INFO) as { buf: { shm_rss: number } }).buf.shm_rss, 1);
});

test('huge lengths: memory.read/write of 2^40 bytes is EINVAL, process_vm_readv clamps to MAX_RW_COUNT and returns a short count (no RangeError)', () => {
  const k = boot();
  const t = k.task(k.init.sys.fork())!;
  const a = t.sys.mmap(0, 2 * PAGE, RW, ANON);
  t.memory.write(a, 'xy');
  expectErrno(() => t.memory.read(a, 2 ** 40), 'EINVAL');
  expectErrno(() => t.memory.read(2 ** 60, 1), 'EFAULT');
  const got = k.init.sys.process_vm_readv(t.pid, a, 2 ** 40);
  assert.equal(got.length, 2 * PAGE, 'a partial transfer stops at the end of the mapping');
  assert.equal(new TextDecoder().decode(got.subarray(0, 2)), 'xy');
  expectErrno(() => k.init.sys.process_vm_readv(t.pid, a + 2 * PAGE, 2 ** 40), 'EFAULT');

  const big = t.sys.mmap(0, 2 ** 39, RW, ANON); // 512 GiB: nothing is allocated
  assert.equal(k.init.sys.process_vm_writev(t.pid, big + 2 ** 38, new Uint8Array([9])), 1);
  expectErrno(() => t.sys.mmap(0, 2 ** 48, RW, ANON), 'ENOMEM');
  // C21: a reaped task's memory is ESRCH, not a kernel bug.
  t.sys.exit(0);
  expectErrno(() => t.memory.read(a, 1), 'ESRCH');
  k.init.sys.wait4(t.pid, 0);
  expectErrno(() => t.memory.write(a, 'x'), 'ESRCH');
});

test('A7: process_vm_readv/writev and task.memory of an unmapped or read-only address give EFAULT and never signal the target', () => {
  const k = boot();
  const t = k.task(k.init.sys.fork())!;
  const ro = t.sys.mmap(0, PAGE, 1, ANON);
  const rw = t.sys.mmap(0, PAGE, RW, ANON);
  expectErrno(() => k.init.sys.process_vm_readv(t.pid, 0x1000, 4), 'EFAULT');
  expectErrno(() => k.init.sys.process_vm_writev(t.pid, ro, new Uint8Array([1])), 'EFAULT');
  expectErrno(() => t.memory.read(0x1000, 1), 'EFAULT');
  expectErrno(() => t.memory.write(ro, 'x'), 'EFAULT');
  // A write crossing from a writable mapping into a hole: all-or-nothing for task.memory…
  t.sys.munmap(rw + PAGE, PAGE);
  expectErrno(() => t.memory.write(rw + PAGE - 2, 'abcd'), 'EFAULT');
  assert.equal(t.memory.read(rw + PAGE - 2, 2).every((x) => x === 0), true, 'nothing was written');
  // …and a short count for process_vm_writev (process_vm_rw_core).
  assert.equal(k.init.sys.process_vm_writev(t.pid, rw + PAGE - 2, new TextEncoder().encode('abcd')), 2);
  assert.equal(t.alive, true);
  assert.deepEqual(t.state.pending, []);
  assert.deepEqual(k.proc(t.kid).pending, []);
});

test('pagemap: a fresh mapping is soft-dirty; clear_refs 4 clears it; a write sets present, soft-dirty and exclusive; offsets are vaddr/4096*8', () => {
  const k = boot();
  const t = k.task(k.init.sys.fork())!;
  const a = t.sys.mmap(0, 4 * PAGE, RW, ANON);
  assert.deepEqual(pagemap(t, 'self', a, 4), [PM_SD, PM_SD, PM_SD, PM_SD], 'VM_SOFTDIRTY: every page soft-dirty, none present');
  clearRefs(t, 'self', '4\n');
  assert.deepEqual(pagemap(t, 'self', a, 4), [0n, 0n, 0n, 0n]);
  t.memory.write(a + 2 * PAGE + 7, 'z');
  const e = pagemap(t, 'self', a, 4);
  assert.equal(e[0], 0n);
  assert.equal(e[2]! & (PM_PRESENT | PM_SD | PM_EXCL | PM_FILE), PM_PRESENT | PM_SD | PM_EXCL);
  assert.equal(e[3], 0n);
  // Reading does not dirty; a hole outside every mapping reads as 0.
  t.memory.read(a, 4 * PAGE);
  assert.equal(pagemap(t, 'self', a, 1)[0], 0n);
  assert.deepEqual(pagemap(t, 'self', 0x10000, 1), [0n]);
  // A huge count is clamped; reads stop at the end of the address space (TASK_SIZE).
  const top = t.sys.open('/proc/self/pagemap', C.O_RDONLY);
  t.sys.lseek(top, (0x7ffffffff000 / PAGE - 2) * 8, C.SEEK_SET);
  assert.equal(t.sys.read(top, 2 ** 40).length, 16);
  assert.equal(t.sys.read(top, 8).length, 0);
  t.sys.close(top);
  // Position and count must be whole entries.
  const fd = t.sys.open('/proc/self/pagemap', C.O_RDONLY);
  expectErrno(() => t.sys.read(fd, 7), 'EINVAL');
  t.sys.lseek(fd, 3, C.SEEK_SET);
  expectErrno(() => t.sys.read(fd, 8), 'EINVAL');
  t.sys.close(fd);
  // fork copies the PTE state of private memory.
  const c = k.task(t.sys.fork())!;
  assert.equal(pagemap(c, 'self', a + 2 * PAGE, 1)[0]! & PM_SD, PM_SD);
});

test('pagemap: the PFN is shown only to CAP_SYS_ADMIN; another uid without it gets EACCES', () => {
  const k = boot();
  const t = k.task(k.init.sys.fork())!;
  const a = t.sys.mmap(0, PAGE, RW, ANON);
  t.memory.write(a, 'x');
  assert.notEqual(pagemap(k.init, t.pid, a, 1)[0]! & PFN, 0n, 'root sees a frame number');
  t.sys.setuid(1000);
  const e = pagemap(t, 'self', a, 1)[0]!;
  assert.equal(e & PFN, 0n, 'hidden from the unprivileged');
  assert.equal(e & PM_PRESENT, PM_PRESENT);
  const other = k.task(k.init.sys.fork())!;
  other.sys.setuid(2000);
  expectErrno(() => pagemap(other, t.pid, a, 1), 'EACCES');
});

test('clear_refs: 1,2,3,5 accepted (referenced bits are not kept), 0, 6 and garbage are EINVAL; smaps VmFlags shows sd until cleared', () => {
  const k = boot();
  const t = k.task(k.init.sys.fork())!;
  const a = t.sys.mmap(0, PAGE, RW, ANON);
  for (const v of ['1', '2', '3', '5', ' 4 \n']) clearRefs(t, 'self', v);
  for (const v of ['0', '6', 'x', '-1', '']) expectErrno(() => clearRefs(t, 'self', v), 'EINVAL', `clear_refs ${JSON.stringify(v)}`);
  const smaps = readFile(t, '/proc/self/smaps');
  assert.match(smaps, new RegExp(`^${a.toString(16)}-${(a + PAGE).toString(16)} rw-p `, 'm'));
  assert.match(smaps, /^VmFlags: rd wr mr mw me ac $/m, 'cleared by the 4 above');
  t.sys.mmap(0, PAGE, RW, ANON);
  assert.match(readFile(t, '/proc/self/smaps'), /^VmFlags: rd wr mr mw me ac sd $/m);
});

test('SysV shm: soft-dirty is per attaching mapping; pages are file/shared (bit 61); exclusive only with one mapper', () => {
  const k = boot();
  const p = k.task(k.init.sys.fork())!;
  const id = p.sys.shmget(C.IPC_PRIVATE, 2 * PAGE, 0o600);
  const a = p.sys.shmat(id, 0, 0);
  const c = k.task(p.sys.fork())!;
  clearRefs(p, 'self', '4');
  clearRefs(c, 'self', '4');
  c.memory.write(a + PAGE, 'c');
  assert.equal(pagemap(c, 'self', a + PAGE, 1)[0]! & (PM_PRESENT | PM_SD | PM_FILE | PM_EXCL), PM_PRESENT | PM_SD | PM_FILE | PM_EXCL);
  assert.equal(pagemap(p, 'self', a + PAGE, 1)[0], 0n, 'the parent has not touched the page: no PTE, not dirty');
  assert.equal(new TextDecoder().decode(p.memory.read(a + PAGE, 1)), 'c', 'but it sees the bytes');
  assert.equal(pagemap(p, 'self', a + PAGE, 1)[0]! & (PM_PRESENT | PM_SD | PM_EXCL), PM_PRESENT, 'a read maps it, clean, now shared by two');
  assert.equal(pagemap(c, 'self', a + PAGE, 1)[0]! & PM_EXCL, 0n);
});

test('linux-2.6.26 pagemap: bits 55-60 hold the page shift, PFNs are shown, clear_refs takes any non-zero number', () => {
  const k = boot('linux-2.6.26');
  const t = k.task(k.init.sys.fork())!;
  const a = t.sys.mmap(0, 2 * PAGE, RW, ANON);
  t.memory.write(a, 'x');
  t.sys.setuid(1000);
  const [p0, p1] = pagemap(t, 'self', a, 2);
  assert.equal(p1, 12n << 55n, 'PM_NOT_PRESENT');
  assert.equal(p0! >> 55n, (1n << 8n) | 12n, 'present + page shift');
  assert.notEqual(p0! & PFN, 0n);
  clearRefs(t, 'self', '7');
  expectErrno(() => clearRefs(t, 'self', '0'), 'EINVAL');
});

test('property: snapshot/fromState preserves contents, present and soft-dirty bits (pagemap bytes equal)', () => {
  type Op = { kind: 'write'; page: number; off: number; byte: number } | { kind: 'clear' } | { kind: 'read'; page: number } | { kind: 'munmap'; page: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant('write' as const), page: fc.nat(15), off: fc.nat(4095), byte: fc.nat(255) }),
    fc.record({ kind: fc.constant('clear' as const) }),
    fc.record({ kind: fc.constant('read' as const), page: fc.nat(15) }),
    fc.record({ kind: fc.constant('munmap' as const), page: fc.nat(15) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
      const k = boot();
      const t = k.task(k.init.sys.fork())!;
      const a = t.sys.mmap(0, 16 * PAGE, RW, ANON);
      const id = t.sys.shmget(C.IPC_PRIVATE, 4 * PAGE, 0o600);
      const s = t.sys.shmat(id, 0, 0);
      for (const o of ops) {
        const addr = o.kind === 'clear' ? 0 : o.page < 12 ? a + o.page * PAGE : s + (o.page - 12) * PAGE;
        try {
          if (o.kind === 'write') t.memory.write(addr + o.off, new Uint8Array([o.byte]));
          else if (o.kind === 'read') t.memory.read(addr, PAGE);
          else if (o.kind === 'munmap' && o.page < 12) t.sys.munmap(addr, PAGE);
          else if (o.kind === 'clear') clearRefs(t, 'self', '4');
        } catch (e) {
          if ((e as { code?: string }).code !== 'EFAULT') throw e;
        }
      }
      const k2 = Kernel.fromState(k.snapshot(), { programs: k.programs.values() });
      const t2 = k2.task(t.kid)!;
      for (const base of [a, s]) {
        assert.deepEqual(pagemap(t2, 'self', base, 16), pagemap(t, 'self', base, 16));
      }
      for (let p = 0; p < 12; p++) {
        let before: Uint8Array | string;
        try {
          before = t.memory.read(a + p * PAGE, PAGE);
        } catch {
          before = 'EFAULT';
        }
        let after: Uint8Array | string;
        try {
          after = t2.memory.read(a + p * PAGE, PAGE);
        } catch {
          after = 'EFAULT';
        }
        assert.deepEqual(after, before);
      }
      assert.deepEqual(t2.memory.read(s, 4 * PAGE), t.memory.read(s, 4 * PAGE));
    }),
    { seed: 0x6d6d, numRuns: 60 },
  );
});
