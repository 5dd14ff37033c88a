/**
 * next_syscall_data, patch 1/5 (NSD-SPEC §1): the grammar, every quirk of the C parser, the file's
 * permissions and offsets, and a property test over arbitrary writes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { constants as C, ErrnoError } from '../../src/index.js';
import { boot, expectErrno, nsdPath, readFile } from '../helpers.js';
import { nsdWriteInput } from './arbitraries.js';
import { simpleStrtol } from '../../src/kernel/nsd/nsd.js';

const dec = new TextDecoder();
const PRIOR = 'LONG1 777\n';

type Row = [input: string, result: 'ok' | 'EINVAL', after: string | 'keep'];

/** Each write follows an armed `LONG1 777`; `keep` means the EINVAL left it in place. */
const TABLE: Row[] = [
  ['LONG1 42', 'ok', 'LONG1 42\n'],
  ['LONG1 42\n', 'ok', 'LONG1 42\n'],
  ['LONG1 0x2a', 'ok', 'LONG1 42\n'],
  ['LONG1 0X1F', 'ok', 'LONG1 31\n'],
  ['LONG1 052', 'ok', 'LONG1 42\n'],
  ['LONG1 -5', 'ok', 'LONG1 -5\n'],
  ['LONG1 -0x10', 'ok', 'LONG1 -16\n'],
  ['LONG1 0', 'ok', 'LONG1 0\n'],
  // simple_strtol("-") stops after the sign: end != token and *end == 0, so 0 is accepted.
  ['LONG1 -', 'ok', 'LONG1 0\n'],
  ['LONG1 0x', 'EINVAL', 'UNSET\n'],
  ['LONG1 0xg', 'EINVAL', 'UNSET\n'],
  ['LONG1 08', 'EINVAL', 'UNSET\n'],
  ['LONG1 12ab', 'EINVAL', 'UNSET\n'],
  ['LONG1 5x', 'EINVAL', 'UNSET\n'],
  ['LONG1 +5', 'EINVAL', 'UNSET\n'],
  ['LONG1 --5', 'EINVAL', 'UNSET\n'],
  ['LONG1  5', 'EINVAL', 'UNSET\n'],
  ['LONG1 ', 'EINVAL', 'UNSET\n'],
  ['LONG1', 'EINVAL', 'UNSET\n'],
  ['LONG2 1', 'EINVAL', 'UNSET\n'],
  ['LONG-1 5', 'EINVAL', 'UNSET\n'],
  // Errors in the LONG<n> header (do_set_next_syscall_data) keep the previous value.
  ['LONG1\n', 'EINVAL', 'keep'],
  ['LONG1x 5', 'EINVAL', 'keep'],
  ['LONG33 1', 'EINVAL', 'keep'],
  ['LONG99999 1', 'EINVAL', 'keep'],
  ['LONG2 1 2', 'ok', 'LONG2 1 2\n'],
  ['LONG3 1 2 3', 'ok', 'LONG3 1 2 3\n'],
  ['LONG1 5 6 7', 'ok', 'LONG1 5\n'],
  ['LONG1 5\t6', 'ok', 'LONG1 5\n'],
  ['LONG1 5\n6', 'ok', 'LONG1 5\n'],
  ['LONG1 7\r', 'ok', 'LONG1 7\n'],
  ['LONG0', 'ok', 'UNSET\n'],
  ['LONG', 'ok', 'UNSET\n'],
  ['LONG 5', 'ok', 'UNSET\n'],
  ['LONG0 5', 'ok', 'UNSET\n'],
  ['LONG0x1 9', 'ok', 'LONG1 9\n'],
  ['LONG01 9', 'ok', 'LONG1 9\n'],
  ['RESET', 'ok', 'UNSET\n'],
  ['RESET\n', 'ok', 'UNSET\n'],
  ['RESETXYZ', 'ok', 'UNSET\n'],
  ['RESE', 'EINVAL', 'keep'],
  ['reset', 'EINVAL', 'keep'],
  ['long1 5', 'EINVAL', 'keep'],
  ['', 'EINVAL', 'keep'],
  [' LONG1 5', 'EINVAL', 'keep'],
  ['UNSET', 'EINVAL', 'keep'],
  ['FOO 1', 'EINVAL', 'keep'],
  // The C sees a NUL-terminated page: bytes after a NUL are invisible.
  ['LONG1 5\0garbage', 'ok', 'LONG1 5\n'],
  ['\0LONG1 5', 'EINVAL', 'keep'],
  // Values are C longs: simple_strtoul wraps modulo 2^64.
  ['LONG1 99999999999999999999', 'ok', 'LONG1 7766279631452241919\n'],
  ['LONG1 0xffffffffffffffff', 'ok', 'LONG1 -1\n'],
  ['LONG1 9223372036854775807', 'ok', 'LONG1 9223372036854775807\n'],
];

test('next_syscall_data grammar: table of written strings (NSD-SPEC §1)', () => {
  assert.ok(TABLE.length >= 40);
  for (const [input, result, after] of TABLE) {
    const k = boot();
    const init = k.init;
    const fd = init.sys.open(nsdPath(init), C.O_RDWR);
    init.sys.write(fd, PRIOR);
    init.sys.lseek(fd, 0, C.SEEK_SET);
    if (result === 'ok') {
      assert.equal(init.sys.write(fd, input), new TextEncoder().encode(input).length, `write ${JSON.stringify(input)}`);
    } else {
      expectErrno(() => init.sys.write(fd, input), 'EINVAL', `write ${JSON.stringify(input)}`);
    }
    init.sys.lseek(fd, 0, C.SEEK_SET);
    const got = dec.decode(init.sys.read(fd, 4096));
    assert.equal(got, after === 'keep' ? PRIOR : after, `after ${JSON.stringify(input)}`);
  }
});

test('LONG32 with 32 values is accepted (one value per pid-namespace level)', () => {
  const k = boot();
  const init = k.init;
  const fd = init.sys.open(nsdPath(init), C.O_RDWR);
  const vals = Array.from({ length: 32 }, (_, i) => i + 1);
  init.sys.write(fd, `LONG32 ${vals.join(' ')}`);
  init.sys.lseek(fd, 0, C.SEEK_SET);
  assert.equal(dec.decode(init.sys.read(fd, 4096)), `LONG32 ${vals.join(' ')}\n`);
});

test('a write takes at most PAGE_SIZE-1 bytes and returns that count', () => {
  const k = boot();
  const init = k.init;
  const fd = init.sys.open(nsdPath(init), C.O_RDWR);
  assert.equal(init.sys.write(fd, 'LONG1 5 ' + 'x'.repeat(5000)), 4095);
  init.sys.lseek(fd, 0, C.SEEK_SET);
  assert.equal(dec.decode(init.sys.read(fd, 100)), 'LONG1 5\n');
});

test('only the thread itself may write; any task may read', () => {
  const k = boot();
  const init = k.init;
  const child = k.task(init.sys.fork())!;
  const path = `/proc/${child.pid}/task/${child.pid}/next_syscall_data`;
  const fd = init.sys.open(path, C.O_WRONLY);
  // Even root gets EPERM when it is not the file's task.
  expectErrno(() => init.sys.write(fd, 'LONG1 5'), 'EPERM');
  const cfd = child.sys.open(nsdPath(child), C.O_WRONLY);
  child.sys.write(cfd, 'LONG1 5');
  assert.equal(readFile(init, path), 'LONG1 5\n');
  // A dead task's file: EPERM for writers (pid_task() != current), and it is gone from /proc.
  child.sys.exit(0);
  expectErrno(() => init.sys.write(fd, 'LONG1 6'), 'EPERM');
  // A zombie keeps its /proc entry (and its field is gone); once reaped, the entry goes too.
  assert.equal(readFile(init, path), 'UNSET\n');
  init.sys.wait4(child.pid, 0);
  expectErrno(() => init.sys.open(path, C.O_RDONLY), 'ENOENT');
});

test('a second write on one open file is accepted (the C never moves *ppos); after a read or lseek it is EINVAL', () => {
  const k = boot();
  const init = k.init;
  const fd = init.sys.open(nsdPath(init), C.O_RDWR);
  assert.equal(init.sys.write(fd, 'LONG1 5'), 7);
  assert.equal(init.sys.lseek(fd, 0, C.SEEK_CUR), 0, 'a write leaves the position at 0');
  assert.equal(init.sys.write(fd, 'LONG1 6'), 7);
  assert.equal(init.sys.write(fd, 'LONG2 7 8'), 9);
  assert.equal(dec.decode(init.sys.read(fd, 100)), 'LONG2 7 8\n');
  // The read moved the position: no partial writes.
  expectErrno(() => init.sys.write(fd, 'LONG1 6'), 'EINVAL');
  init.sys.lseek(fd, 0, C.SEEK_SET);
  init.sys.write(fd, 'RESET');
  init.sys.lseek(fd, 3, C.SEEK_SET);
  expectErrno(() => init.sys.write(fd, 'LONG1 9'), 'EINVAL');
  init.sys.lseek(fd, 0, C.SEEK_SET);
  assert.equal(dec.decode(init.sys.read(fd, 100)), 'UNSET\n');
});

test('the file is per thread: /proc/<pid>/next_syscall_data does not exist; mode 0644', () => {
  const k = boot();
  const init = k.init;
  expectErrno(() => init.sys.open('/proc/1/next_syscall_data', C.O_RDONLY), 'ENOENT');
  expectErrno(() => init.sys.open('/proc/self/next_syscall_data', C.O_RDONLY), 'ENOENT');
  assert.equal(init.sys.stat('/proc/1/task/1/next_syscall_data').st_mode & 0o7777, 0o644);
  const names = init.sys.getdents64(init.sys.open('/proc/1/task/1', C.O_RDONLY | C.O_DIRECTORY)).map((d) => d.d_name);
  assert.ok(names.includes('next_syscall_data'));
  const pnames = init.sys.getdents64(init.sys.open('/proc/1', C.O_RDONLY | C.O_DIRECTORY)).map((d) => d.d_name);
  assert.ok(!pnames.includes('next_syscall_data'));
});

test('another user cannot open a task\'s file for writing (0644, owned by the task)', () => {
  const k = boot();
  const init = k.init;
  const child = k.task(init.sys.fork())!;
  child.sys.setuid(1000);
  const other = k.task(init.sys.fork())!;
  other.sys.setuid(2000);
  expectErrno(() => other.sys.open(`/proc/${child.pid}/task/${child.pid}/next_syscall_data`, C.O_WRONLY), 'EACCES');
  assert.equal(readFile(other, `/proc/${child.pid}/task/${child.pid}/next_syscall_data`), 'UNSET\n');
});

test('property: any write succeeds or fails with EINVAL, and the file reads back consistently', () => {
  const k = boot();
  const init = k.init;
  const fd = init.sys.open(nsdPath(init), C.O_RDWR);
  const input = nsdWriteInput;
  fc.assert(
    fc.property(input, (data) => {
      init.sys.lseek(fd, 0, C.SEEK_SET);
      const before = dec.decode(init.sys.read(fd, 4096));
      init.sys.lseek(fd, 0, C.SEEK_SET);
      const len = typeof data === 'string' ? new TextEncoder().encode(data).length : data.length;
      let ok: boolean;
      try {
        assert.equal(init.sys.write(fd, data), Math.min(len, 4095));
        ok = true;
      } catch (e) {
        if (!(e instanceof ErrnoError) || e.code !== 'EINVAL') throw e;
        ok = false;
      }
      init.sys.lseek(fd, 0, C.SEEK_SET);
      const after = dec.decode(init.sys.read(fd, 4096));
      assert.match(after, /^(UNSET|LONG([1-9]|[12][0-9]|3[0-2])( -?[0-9]+)+)\n$/);
      if (after !== 'UNSET\n') {
        // Whatever reads back is itself a valid write that reads back the same.
        assert.equal(Number(after.slice(4, after.indexOf(' '))), after.trim().split(' ').length - 1);
      }
      // A failure either keeps the previous value or clears it.
      if (!ok) assert.ok(after === before || after === 'UNSET\n', `EINVAL changed ${before} into ${after}`);
      const text = typeof data === 'string' ? data : new TextDecoder('latin1').decode(data);
      if (ok && text.startsWith('RESET')) assert.equal(after, 'UNSET\n');
    }),
    { seed: 20080708, numRuns: 1500 },
  );
});

test('reading with a small count returns the first bytes (model of the intent; see docs)', () => {
  const k = boot();
  const init = k.init;
  const fd = init.sys.open(nsdPath(init), C.O_RDWR);
  init.sys.write(fd, 'LONG2 12345 678');
  init.sys.lseek(fd, 0, C.SEEK_SET);
  assert.equal(dec.decode(init.sys.read(fd, 5)), 'LONG2');
  assert.equal(dec.decode(init.sys.read(fd, 100)), ' 12345 678\n');
  assert.equal(init.sys.read(fd, 100).length, 0);
});

/** simple_strtol(cp, &end, 0) digit by digit in BigInt: the reference the number-based parser must equal. */
function strtolReference(s: string): { value: bigint; end: number } {
  let i = 0;
  let neg = false;
  if (s[i] === '-') {
    neg = true;
    i++;
  }
  const hex = (c: string | undefined): boolean => c !== undefined && /^[0-9a-fA-F]$/.test(c);
  let base = 10n;
  if (s[i] === '0') {
    base = 8n;
    i++;
    if ((s[i] === 'x' || s[i] === 'X') && hex(s[i + 1])) {
      i++;
      base = 16n;
    }
  }
  let result = 0n;
  while (hex(s[i]) && BigInt(parseInt(s[i]!, 16)) < base) {
    result = BigInt.asUintN(64, result * base + BigInt(parseInt(s[i]!, 16)));
    i++;
  }
  return { value: BigInt.asIntN(64, neg ? -result : result), end: i };
}

test('simple_strtol: the number-based parser equals the BigInt reference, past 2^53 and 2^64 wrap-around', () => {
  const digits = fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEFxX-g '), maxLength: 40 });
  const prefixed = fc.tuple(fc.constantFrom('', '-', '0', '0x', '-0x', '0X'), digits).map(([p, d]) => p + d);
  fc.assert(
    fc.property(prefixed, (s) => {
      assert.deepEqual(simpleStrtol(s), strtolReference(s));
    }),
    { seed: 1313, numRuns: 3000 },
  );
  for (const s of ['9007199254740991', '9007199254740993', '18446744073709551615', '18446744073709551617', '0xffffffffffffffff1', '-9223372036854775808', '01777777777777777777777']) {
    assert.deepEqual(simpleStrtol(s), strtolReference(s), s);
  }
});
