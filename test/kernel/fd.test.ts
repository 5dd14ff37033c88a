/**
 * File descriptors (LINUX-SEMANTICS §4): errno tables for open/close/dup/dup2/dup3/fcntl/read/
 * write/lseek/pipe2, sharing of open file descriptions, CLONE_FILES, close-on-exec, RLIMIT_NOFILE,
 * and a model-based property test of fd allocation against a simple set model.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { constants as C } from '../../src/index.js';
import { defineBareProgram } from '../../src/syscalls/program.js';
import type { ErrnoCode } from '../../src/abi/errno.js';
import { boot, expectErrno } from '../helpers.js';

const dec = new TextDecoder();

test('errno table: fd syscalls', () => {
  const k = boot();
  const t = k.init;
  const fd = t.sys.open('/dev/null', C.O_RDONLY);
  const wfd = t.sys.open('/tmp/x', C.O_WRONLY | C.O_CREAT, 0o644);
  const rows: Array<[string, () => unknown, ErrnoCode]> = [
    ['close(-1)', () => t.sys.close(-1), 'EBADF'],
    ['close(999)', () => t.sys.close(999), 'EBADF'],
    ['dup(42)', () => t.sys.dup(42), 'EBADF'],
    ['dup2(42, 3)', () => t.sys.dup2(42, 3), 'EBADF'],
    ['dup2(42, 42)', () => t.sys.dup2(42, 42), 'EBADF'],
    ['dup2(fd, -1)', () => t.sys.dup2(fd, -1), 'EBADF'],
    ['dup2(fd, RLIMIT_NOFILE)', () => t.sys.dup2(fd, 1024), 'EBADF'],
    ['dup3(fd, fd, 0)', () => t.sys.dup3(fd, fd, 0), 'EINVAL'],
    ['dup3(fd, 5, O_NONBLOCK)', () => t.sys.dup3(fd, 5, C.O_NONBLOCK), 'EINVAL'],
    ['dup3(42, 5, 0)', () => t.sys.dup3(42, 5, 0), 'EBADF'],
    ['fcntl(42, F_GETFD)', () => t.sys.fcntl(42, C.F_GETFD), 'EBADF'],
    ['fcntl(fd, F_DUPFD, -1)', () => t.sys.fcntl(fd, C.F_DUPFD, -1), 'EINVAL'],
    ['fcntl(fd, F_DUPFD, 1024)', () => t.sys.fcntl(fd, C.F_DUPFD, 1024), 'EINVAL'],
    ['fcntl(fd, 9999)', () => t.sys.fcntl(fd, 9999), 'EINVAL'],
    ['read(wronly)', () => t.sys.read(wfd, 10), 'EBADF'],
    ['write(rdonly)', () => t.sys.write(fd, 'x'), 'EBADF'],
    ['read(fd, -1)', () => t.sys.read(fd, -1), 'EINVAL'],
    ['lseek(fd, 0, 7)', () => t.sys.lseek(fd, 0, 7), 'EINVAL'],
    ['lseek(file, -1, SEEK_SET)', () => t.sys.lseek(wfd, -1, C.SEEK_SET), 'EINVAL'],
    ['pipe2(O_TRUNC)', () => t.sys.pipe2(C.O_TRUNC), 'EINVAL'],
    ['read(dir)', () => t.sys.read(t.sys.open('/tmp', C.O_RDONLY), 1), 'EISDIR'],
  ];
  for (const [name, fn, code] of rows) expectErrno(fn, code, name);
  const [r] = t.sys.pipe2(0);
  expectErrno(() => t.sys.lseek(r, 0, C.SEEK_SET), 'ESPIPE', 'lseek(pipe)');
});

test('lowest free fd, dup2 closes the target, dup3 O_CLOEXEC, F_DUPFD ≥ arg, flags on x86_64', () => {
  const k = boot();
  const t = k.init;
  assert.equal(t.sys.open('/dev/null', C.O_RDONLY), 0);
  assert.equal(t.sys.open('/dev/null', C.O_RDONLY), 1);
  assert.equal(t.sys.open('/dev/null', C.O_RDONLY), 2);
  t.sys.close(1);
  assert.equal(t.sys.dup(0), 1);
  assert.equal(t.sys.fcntl(0, C.F_DUPFD, 10), 10);
  assert.equal(t.sys.fcntl(0, C.F_DUPFD_CLOEXEC, 10), 11);
  assert.equal(t.sys.fcntl(11, C.F_GETFD), C.FD_CLOEXEC);
  assert.equal(t.sys.dup3(0, 20, C.O_CLOEXEC), 20);
  assert.equal(t.sys.fcntl(20, C.F_GETFD), C.FD_CLOEXEC);
  assert.equal(t.sys.dup2(0, 20), 20);
  assert.equal(t.sys.fcntl(20, C.F_GETFD), 0, 'dup2 clears FD_CLOEXEC');
  assert.equal(t.sys.dup2(2, 2), 2);
  // open() on x86_64 adds O_LARGEFILE (force_o_largefile); pipes do not.
  assert.equal(t.sys.fcntl(0, C.F_GETFL), C.O_LARGEFILE);
  const [r, w] = t.sys.pipe2(C.O_NONBLOCK);
  assert.equal(t.sys.fcntl(r, C.F_GETFL), C.O_NONBLOCK);
  assert.equal(t.sys.fcntl(w, C.F_GETFL), C.O_WRONLY | C.O_NONBLOCK);
  t.sys.fcntl(r, C.F_SETFL, C.O_APPEND | C.O_RDWR);
  assert.equal(t.sys.fcntl(r, C.F_GETFL), C.O_APPEND, 'F_SETFL only changes status flags');
});

test('a failed open gives its fd back: the next open takes the same lowest fd', () => {
  const t = boot().init;
  for (let i = 0; i < 3; i++) t.sys.open('/dev/null', C.O_RDONLY);
  expectErrno(() => t.sys.open('/nonexistent', C.O_RDONLY), 'ENOENT');
  expectErrno(() => t.sys.open('/tmp', C.O_WRONLY), 'EISDIR');
  assert.equal(t.sys.open('/dev/null', C.O_RDONLY), 3);
});

test('RLIMIT_NOFILE: EMFILE at the limit; setrlimit raises it up to nr_open', () => {
  const k = boot();
  const t = k.init;
  for (let i = 0; i < 1024; i++) t.sys.open('/dev/null', C.O_RDONLY);
  expectErrno(() => t.sys.open('/dev/null', C.O_RDONLY), 'EMFILE');
  expectErrno(() => t.sys.dup(0), 'EMFILE');
  expectErrno(() => t.sys.pipe2(0), 'EMFILE');
  // One free slot: the read end is installed, the write end fails; both go, nothing leaks.
  t.sys.close(7);
  const files = k.s.files.size;
  const inodes = k.s.inodes.size;
  expectErrno(() => t.sys.pipe2(0), 'EMFILE');
  assert.equal(k.s.files.size, files);
  assert.equal(k.s.inodes.size, inodes);
  assert.equal(t.sys.open('/dev/null', C.O_RDONLY), 7);
  t.sys.setrlimit(C.RLIMIT_NOFILE, { rlim_cur: 2048, rlim_max: 4096 });
  assert.equal(t.sys.open('/dev/null', C.O_RDONLY), 1024);
  expectErrno(() => t.sys.setrlimit(C.RLIMIT_NOFILE, { rlim_cur: 1, rlim_max: 2000000 }), 'EPERM');
  expectErrno(() => t.sys.setrlimit(C.RLIMIT_NOFILE, { rlim_cur: 10, rlim_max: 5 }), 'EINVAL');
});

test('dup and fork share the open file description (offset); tables are independent after fork', () => {
  const k = boot();
  const t = k.init;
  const fd = t.sys.open('/tmp/f', C.O_RDWR | C.O_CREAT, 0o644);
  t.sys.write(fd, 'hello world');
  t.sys.lseek(fd, 0, C.SEEK_SET);
  const d = t.sys.dup(fd);
  assert.equal(dec.decode(t.sys.read(d, 5)), 'hello');
  assert.equal(t.sys.lseek(fd, 0, C.SEEK_CUR), 5, 'shared offset');
  const child = k.task(t.sys.fork())!;
  assert.equal(dec.decode(child.sys.read(fd, 1)), ' ');
  assert.equal(t.sys.lseek(fd, 0, C.SEEK_CUR), 6, 'shared with the child too');
  child.sys.close(fd);
  assert.equal(t.sys.fcntl(fd, C.F_GETFD), 0, 'the parent still has it');
  assert.equal(child.sys.open('/dev/null', C.O_RDONLY), fd, 'the child reuses its own free slot');
});

test('CLONE_FILES shares the table; unshare(CLONE_FILES) copies it', () => {
  const k = boot();
  const t = k.init;
  const c = k.task(t.sys.clone(C.CLONE_FILES | C.SIGCHLD))!;
  const fd = c.sys.open('/dev/null', C.O_RDONLY);
  assert.equal(t.sys.fcntl(fd, C.F_GETFD), 0, 'visible to the parent');
  c.sys.unshare(C.CLONE_FILES);
  const fd2 = c.sys.open('/dev/null', C.O_RDONLY);
  expectErrno(() => t.sys.fcntl(fd2, C.F_GETFD), 'EBADF');
});

test('execve closes close-on-exec fds and unshares a CLONE_FILES table', () => {
  const k = boot();
  const prog = defineBareProgram({ name: '/bin/fd-exec-test', start: () => ({}), step: () => undefined });
  k.installProgram(prog);
  const t = k.init;
  const c = k.task(t.sys.clone(C.CLONE_FILES | C.SIGCHLD))!;
  const keep = c.sys.open('/dev/null', C.O_RDONLY);
  const drop = c.sys.open('/dev/null', C.O_RDONLY | C.O_CLOEXEC);
  c.sys.execve('/bin/fd-exec-test', ['x']);
  assert.equal(c.sys.fcntl(keep, C.F_GETFD), 0);
  expectErrno(() => c.sys.fcntl(drop, C.F_GETFD), 'EBADF');
  assert.equal(t.sys.fcntl(drop, C.F_GETFD), C.FD_CLOEXEC, 'the parent\'s shared table kept it');
});

test('pipes: EOF, EPIPE with SIGPIPE, O_NONBLOCK EAGAIN, capacity, atomic small writes', () => {
  const k = boot();
  const t = k.init;
  const [r, w] = t.sys.pipe2(C.O_NONBLOCK);
  expectErrno(() => t.sys.read(r, 10), 'EAGAIN');
  assert.equal(t.sys.write(w, 'abc'), 3);
  assert.equal(dec.decode(t.sys.read(r, 10)), 'abc');
  const big = new Uint8Array(65536);
  assert.equal(t.sys.write(w, big), 65536);
  expectErrno(() => t.sys.write(w, 'x'), 'EAGAIN');
  assert.equal(t.sys.read(r, 100).length, 100);
  expectErrno(() => t.sys.write(w, new Uint8Array(200)), 'EAGAIN', 'atomic: 200 ≤ PIPE_BUF does not fit in 100');
  assert.equal(t.sys.write(w, new Uint8Array(100)), 100);
  t.sys.close(w);
  assert.equal(t.sys.read(r, 70000).length, 65536);
  assert.equal(t.sys.read(r, 10).length, 0, 'EOF');
  const [r2, w2] = t.sys.pipe2(0);
  t.sys.close(r2);
  // SIGPIPE's default action kills; ignore it to see EPIPE (init ignores nothing by default).
  const c = k.task(t.sys.fork())!;
  c.sys.rt_sigaction(C.SIGPIPE, C.SIG_IGN);
  expectErrno(() => c.sys.write(w2, 'x'), 'EPIPE');
  const c2 = k.task(t.sys.fork())!;
  expectErrno(() => c2.sys.write(w2, 'x'), 'EPIPE');
  assert.equal(c2.alive, false, 'killed by SIGPIPE before returning to user space');
  assert.equal(t.sys.wait4(c2.pid, 0).status, C.SIGPIPE);
});

test('a direct blocking read throws WouldBlockError, distinct from every errno, and changes nothing', () => {
  const k = boot();
  const t = k.init;
  const [r] = t.sys.pipe2(0);
  try {
    t.sys.read(r, 1);
    assert.fail('expected WouldBlockError');
  } catch (e) {
    assert.equal((e as Error).name, 'WouldBlockError');
    assert.equal((e as { code: string }).code, 'WOULDBLOCK');
    assert.equal((e as { errno?: number }).errno, undefined);
  }
});

test('property: fd allocation matches a set model (open, close, dup, dup2, F_DUPFD, preset)', () => {
  type Cmd =
    | { op: 'open' } | { op: 'close'; fd: number } | { op: 'dup'; fd: number }
    | { op: 'dup2'; fd: number; to: number } | { op: 'dupfd'; fd: number; min: number } | { op: 'preset'; fd: number };
  const fdArb = fc.nat(40);
  const cmd: fc.Arbitrary<Cmd> = fc.oneof(
    fc.constant({ op: 'open' as const }),
    fdArb.map((fd) => ({ op: 'close' as const, fd })),
    fdArb.map((fd) => ({ op: 'dup' as const, fd })),
    fc.tuple(fdArb, fdArb).map(([fd, to]) => ({ op: 'dup2' as const, fd, to })),
    fc.tuple(fdArb, fdArb).map(([fd, min]) => ({ op: 'dupfd' as const, fd, min })),
    fdArb.map((fd) => ({ op: 'preset' as const, fd })),
  );
  fc.assert(
    fc.property(fc.array(cmd, { maxLength: 120 }), (cmds) => {
      const k = boot();
      const t = k.init;
      t.sys.setrlimit(C.RLIMIT_NOFILE, { rlim_cur: 32, rlim_max: 32 });
      const open = new Set<number>();
      const lowest = (from: number) => {
        let fd = from;
        while (open.has(fd)) fd++;
        return fd;
      };
      const expect = (want: number | ErrnoCode, got: () => number) => {
        if (typeof want === 'number') {
          assert.equal(got(), want);
          open.add(want);
        } else expectErrno(got, want);
      };
      for (const c of cmds) {
        switch (c.op) {
          case 'open': {
            const fd = lowest(0);
            expect(fd >= 32 ? 'EMFILE' : fd, () => t.sys.open('/dev/null', C.O_RDONLY));
            break;
          }
          case 'close':
            if (open.has(c.fd)) {
              t.sys.close(c.fd);
              open.delete(c.fd);
            } else expectErrno(() => t.sys.close(c.fd), 'EBADF');
            break;
          case 'dup': {
            const fd = lowest(0);
            expect(!open.has(c.fd) ? 'EBADF' : fd >= 32 ? 'EMFILE' : fd, () => t.sys.dup(c.fd));
            break;
          }
          case 'dup2':
            expect(!open.has(c.fd) ? 'EBADF' : c.to >= 32 ? 'EBADF' : c.to, () => t.sys.dup2(c.fd, c.to));
            break;
          case 'dupfd': {
            const fd = lowest(c.min);
            expect(!open.has(c.fd) ? 'EBADF' : c.min >= 32 ? 'EINVAL' : fd >= 32 ? 'EMFILE' : fd, () => t.sys.fcntl(c.fd, C.F_DUPFD, c.min));
            break;
          }
          case 'preset': {
            const fdn = t.sys.open(`/proc/self/task/1/next_syscall_data`, C.O_WRONLY);
            open.add(fdn);
            t.sys.write(fdn, `LONG1 ${c.fd}`);
            t.sys.close(fdn);
            open.delete(fdn);
            expect(c.fd >= 32 ? 'EINVAL' : open.has(c.fd) ? 'EBUSY' : c.fd, () => t.sys.open('/dev/null', C.O_RDONLY));
            break;
          }
        }
      }
      const real = new Set(k.fdtable(k.init.state.fdtable).fds.keys());
      assert.deepEqual([...real].sort((a, b) => a - b), [...open].sort((a, b) => a - b));
    }),
    { seed: 1215516263, numRuns: 200 },
  );
});
