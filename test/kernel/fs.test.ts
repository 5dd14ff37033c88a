/**
 * The VFS and procfs: errno tables for path syscalls, permissions, directories, and the procfs
 * files seen through the reader's pid namespace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants as C } from '../../src/index.js';
import type { ErrnoCode } from '../../src/abi/errno.js';
import { boot, expectErrno, readFile, writeFile } from '../helpers.js';

test('errno table: path syscalls', () => {
  const k = boot();
  const t = k.init;
  writeFile(t, '/tmp/file', 'data', C.O_WRONLY | C.O_CREAT);
  t.sys.mkdir('/tmp/d', 0o755);
  t.sys.mkdir('/tmp/full', 0o755);
  writeFile(t, '/tmp/full/x', '', C.O_WRONLY | C.O_CREAT);
  const user = k.task(t.sys.fork())!;
  user.sys.setuid(1000);
  // Real uid 1000, effective and saved 0 (a set-user-ID root program): access() answers for uid 1000.
  const setuidRoot = k.task(t.sys.fork())!;
  setuidRoot.sys.setresuid(1000, 0, 0);
  const rows: Array<[string, () => unknown, ErrnoCode]> = [
    ['open missing', () => t.sys.open('/tmp/missing', C.O_RDONLY), 'ENOENT'],
    ['open missing parent', () => t.sys.open('/nope/x', C.O_CREAT | C.O_WRONLY), 'ENOENT'],
    ['open through a file', () => t.sys.open('/tmp/file/x', C.O_RDONLY), 'ENOTDIR'],
    ['open file/ ', () => t.sys.open('/tmp/file/', C.O_RDONLY), 'ENOTDIR'],
    ['O_CREAT|O_EXCL existing', () => t.sys.open('/tmp/file', C.O_CREAT | C.O_EXCL | C.O_WRONLY), 'EEXIST'],
    ['open dir for write', () => t.sys.open('/tmp/d', C.O_WRONLY), 'EISDIR'],
    ['O_CREAT on a dir', () => t.sys.open('/tmp/d', C.O_CREAT | C.O_RDONLY), 'EISDIR'],
    ['O_DIRECTORY on a file', () => t.sys.open('/tmp/file', C.O_RDONLY | C.O_DIRECTORY), 'ENOTDIR'],
    ['long component', () => t.sys.open('/tmp/' + 'n'.repeat(256), C.O_RDONLY), 'ENAMETOOLONG'],
    ['user writes /etc', () => user.sys.open('/etc/x', C.O_CREAT | C.O_WRONLY), 'EACCES'],
    ['user reads /root', () => user.sys.open('/root/x', C.O_RDONLY), 'EACCES'],
    ['mkdir existing', () => t.sys.mkdir('/tmp/d'), 'EEXIST'],
    ['mkdir missing parent', () => t.sys.mkdir('/tmp/a/b'), 'ENOENT'],
    ['rmdir non-empty', () => t.sys.rmdir('/tmp/full'), 'ENOTEMPTY'],
    ['rmdir a file', () => t.sys.rmdir('/tmp/file'), 'ENOTDIR'],
    ['rmdir .', () => t.sys.rmdir('/tmp/d/.'), 'EINVAL'],
    ['rmdir /', () => t.sys.rmdir('/'), 'EBUSY'],
    ['unlink a dir', () => t.sys.unlink('/tmp/d'), 'EISDIR'],
    ['unlink missing', () => t.sys.unlink('/tmp/missing'), 'ENOENT'],
    ['rename missing', () => t.sys.rename('/tmp/missing', '/tmp/y'), 'ENOENT'],
    ['rename dir into itself', () => t.sys.rename('/tmp/d', '/tmp/d/sub'), 'EINVAL'],
    ['rename dir over file', () => t.sys.rename('/tmp/d', '/tmp/file'), 'ENOTDIR'],
    ['rename file over dir', () => t.sys.rename('/tmp/file', '/tmp/d'), 'EISDIR'],
    ['rename over non-empty dir', () => t.sys.rename('/tmp/d', '/tmp/full'), 'ENOTEMPTY'],
    ['chdir to a file', () => t.sys.chdir('/tmp/file'), 'ENOTDIR'],
    ['user chdir /root', () => user.sys.chdir('/root'), 'EACCES'],
    ['stat missing', () => t.sys.stat('/tmp/missing'), 'ENOENT'],
    ['access bad mode', () => t.sys.access('/tmp/file', 8), 'EINVAL'],
    ['user access W /etc', () => user.sys.access('/etc', 2), 'EACCES'],
    ['access with real uid 1000, euid 0', () => setuidRoot.sys.access('/root', 1), 'EACCES'],
    ['getdents on a file', () => t.sys.getdents64(t.sys.open('/tmp/file', C.O_RDONLY)), 'ENOTDIR'],
    ['getdents count too small', () => t.sys.getdents64(t.sys.open('/tmp', C.O_RDONLY), 8), 'EINVAL'],
    ['readlink of a file', () => t.sys.readlink('/tmp/file'), 'EINVAL'],
    ['open empty path', () => t.sys.open('', C.O_RDONLY), 'ENOENT'],
  ];
  for (const [name, fn, code] of rows) expectErrno(fn, code, name);
  assert.equal(setuidRoot.sys.access('/tmp/file', 4), 0);
  setuidRoot.sys.close(setuidRoot.sys.open('/root', C.O_RDONLY)); // open itself uses the fs ids
});

test('files: create with umask, append, truncate, rename, unlink while open, sticky /tmp', () => {
  const k = boot();
  const t = k.init;
  const fd = t.sys.open('/tmp/a', C.O_RDWR | C.O_CREAT, 0o666);
  assert.equal(t.sys.fstat(fd).st_mode, C.S_IFREG | 0o644);
  t.sys.write(fd, 'abc');
  const ap = t.sys.open('/tmp/a', C.O_WRONLY | C.O_APPEND);
  t.sys.lseek(ap, 0, C.SEEK_SET);
  t.sys.write(ap, 'def');
  assert.equal(readFile(t, '/tmp/a'), 'abcdef');
  t.sys.rename('/tmp/a', '/tmp/b');
  t.sys.unlink('/tmp/b');
  t.sys.lseek(fd, 0, C.SEEK_SET);
  assert.equal(new TextDecoder().decode(t.sys.read(fd, 10)), 'abcdef', 'unlinked but open');
  assert.equal(t.sys.fstat(fd).st_nlink, 0);
  writeFile(t, '/tmp/c', 'xyz', C.O_WRONLY | C.O_CREAT);
  writeFile(t, '/tmp/c', 'q', C.O_WRONLY | C.O_TRUNC);
  assert.equal(readFile(t, '/tmp/c'), 'q');
  const u1 = k.task(t.sys.fork())!;
  u1.sys.setuid(1000);
  writeFile(u1, '/tmp/mine', 'x', C.O_WRONLY | C.O_CREAT);
  const u2 = k.task(t.sys.fork())!;
  u2.sys.setuid(2000);
  expectErrno(() => u2.sys.unlink('/tmp/mine'), 'EPERM', 'sticky /tmp protects other users');
  u1.sys.unlink('/tmp/mine');
});

test('directories: getdents lists . .. and sorted names; cwd and relative paths; openat with a dirfd', () => {
  const k = boot();
  const t = k.init;
  t.sys.mkdir('/home/u');
  for (const n of ['b', 'a', 'c']) writeFile(t, `/home/u/${n}`, n, C.O_WRONLY | C.O_CREAT);
  const dfd = t.sys.open('/home/u', C.O_RDONLY | C.O_DIRECTORY);
  assert.deepEqual(t.sys.getdents64(dfd).map((d) => d.d_name), ['.', '..', 'a', 'b', 'c']);
  assert.deepEqual(t.sys.getdents64(dfd), []);
  t.sys.chdir('/home/u');
  assert.equal(t.sys.getcwd(), '/home/u');
  assert.equal(readFile(t, 'b'), 'b');
  assert.equal(readFile(t, '../u/./c'), 'c');
  const fd = t.sys.openat(dfd, 'a', C.O_RDONLY);
  assert.equal(new TextDecoder().decode(t.sys.read(fd, 5)), 'a');
  t.sys.fchdir(t.sys.open('/', C.O_RDONLY));
  assert.equal(t.sys.getcwd(), '/');
});

test('procfs: self, fd links, status seen from the reader, cmdline, maps, ns links', () => {
  const k = boot();
  const t = k.init;
  assert.equal(t.sys.readlink('/proc/self'), '1');
  const fd = t.sys.open('/dev/null', C.O_RDONLY);
  const [r] = t.sys.pipe2(0);
  assert.equal(t.sys.readlink(`/proc/self/fd/${fd}`), '/dev/null');
  assert.match(t.sys.readlink(`/proc/1/fd/${r}`), /^pipe:\[\d+\]$/);
  const names = t.sys.getdents64(t.sys.open('/proc/self/fd', C.O_RDONLY)).map((d) => d.d_name);
  assert.deepEqual(names.slice(2), ['0', '1', '2', '3'], 'including the fd reading the directory');
  const ci = k.task(t.sys.clone(C.CLONE_NEWPID | C.SIGCHLD))!;
  assert.match(readFile(ci, '/proc/self/status'), /\nPid:\t1\nPPid:\t0\n/);
  assert.match(readFile(t, `/proc/${ci.pid}/status`), new RegExp(`\\nPid:\\t${ci.pid}\\nPPid:\\t1\\n`));
  // From inside, /proc lists only the namespace's own processes.
  const inside = ci.sys.getdents64(ci.sys.open('/proc', C.O_RDONLY)).map((d) => d.d_name).filter((n) => /^\d+$/.test(n));
  assert.deepEqual(inside, ['1']);
  assert.notEqual(t.sys.readlink(`/proc/${ci.pid}/ns/pid`), t.sys.readlink('/proc/1/ns/pid'));
  assert.equal(t.sys.readlink(`/proc/${ci.pid}/ns/ipc`), t.sys.readlink('/proc/1/ns/ipc'));
  const addr = t.sys.mmap(0, 8192, 3, 0x22);
  assert.match(readFile(t, '/proc/self/maps'), new RegExp(`^${addr.toString(16)}-${(addr + 8192).toString(16)} rw-p 00000000 00:00 0`));
  assert.equal(readFile(t, '/proc/sys/kernel/osrelease'), '6.18.0-nsd\n');
  const cfd = t.sys.open('/dev/null', C.O_WRONLY | C.O_CLOEXEC);
  assert.match(readFile(t, `/proc/1/fdinfo/${cfd}`), /^pos:\t0\nflags:\t02100001\n/);
  assert.equal(readFile(t, '/proc/1/task/1/children'), `${ci.pid} `);
});

test('setns into a child pid namespace: children of the caller are born there', () => {
  const k = boot();
  const t = k.init;
  const ci = k.task(t.sys.clone(C.CLONE_NEWPID | C.SIGCHLD))!;
  const nsfd = t.sys.open(`/proc/${ci.pid}/ns/pid`, C.O_RDONLY);
  t.sys.setns(nsfd, C.CLONE_NEWPID);
  const c = k.task(t.sys.fork())!;
  assert.equal(c.nspid.length, 2);
  assert.equal(c.sys.getppid(), 0, 'its parent is outside its namespace');
  expectErrno(() => ci.sys.setns(ci.sys.open('/proc/self/ns/pid', C.O_RDONLY), C.CLONE_NEWIPC), 'EINVAL');
});

test('memory: mmap/munmap, reads and writes, faults give EFAULT (never a signal: issue 9 A7), fork copies private memory', () => {
  const k = boot();
  const t = k.init;
  const c = k.task(t.sys.fork())!;
  const a = c.sys.mmap(0, 4096, 3, 0x22);
  c.memory.write(a + 10, 'hello');
  assert.equal(new TextDecoder().decode(c.memory.read(a + 10, 5)), 'hello');
  const g = k.task(c.sys.fork())!;
  g.memory.write(a, 'X');
  assert.equal(c.memory.read(a, 1)[0], 0, 'private: the child has its own copy');
  const ro = c.sys.mmap(0, 4096, 1, 0x22);
  expectErrno(() => c.memory.write(ro, 'x'), 'EFAULT');
  assert.equal(c.alive, true, 'an access from outside never signals the target');
  const m = g.sys.mmap(0, 3 * 4096, 3, 0x22);
  g.sys.munmap(m + 4096, 4096);
  expectErrno(() => g.sys.munmap(m + 1, 4096), 'EINVAL');
  g.memory.write(m + 2 * 4096, 'z');
  assert.equal(new TextDecoder().decode(g.memory.read(m + 2 * 4096, 1)), 'z', 'the tail survived the split');
  expectErrno(() => g.memory.read(m + 4096, 1), 'EFAULT', 'the hole');
  assert.equal(g.alive, true);
});

test('mmap MAP_FIXED over part of a mapping replaces only that range (the rest keeps its content)', () => {
  const k = boot();
  const c = k.task(k.init.sys.fork())!;
  const m = c.sys.mmap(0, 3 * 4096, 3, 0x22);
  c.memory.write(m, 'a');
  c.memory.write(m + 2 * 4096, 'c');
  c.memory.write(m + 4096, 'b');
  assert.equal(c.sys.mmap(m + 4096, 4096, 3, 0x32 /* MAP_FIXED|MAP_ANONYMOUS|MAP_PRIVATE */), m + 4096);
  const dec = new TextDecoder();
  assert.equal(dec.decode(c.memory.read(m, 1)), 'a');
  assert.equal(c.memory.read(m + 4096, 1)[0], 0, 'the fixed range is fresh zeroed memory');
  assert.equal(dec.decode(c.memory.read(m + 2 * 4096, 1)), 'c');
  assert.equal(k.mm(c.state.mm).maps.length, 3);
});

test('procfs names: create, mkdir, unlink, rmdir and rename fail as Linux does (ENOENT, EEXIST, EPERM, EACCES, EXDEV)', () => {
  const k = boot();
  const init = k.init;
  const tid = init.sys.gettid();
  // O_CREAT of a missing name: ENOENT (procfs lookups fail before any create), as bash reports for
  // `echo x > /proc/self/task/$$/nofile`; an existing one opens.
  for (const p of [`/proc/self/task/${tid}/nofile`, '/proc/nofile', '/proc/sys/kernel/nofile', '/proc/self/nofile']) {
    expectErrno(() => init.sys.open(p, C.O_WRONLY | C.O_CREAT | C.O_TRUNC, 0o644), 'ENOENT', p);
  }
  init.sys.close(init.sys.open(`/proc/self/task/${tid}/next_syscall_data`, C.O_WRONLY | C.O_CREAT | C.O_TRUNC, 0o644));
  expectErrno(() => init.sys.open('/proc/nope/status', C.O_WRONLY | C.O_CREAT), 'ENOENT');
  expectErrno(() => init.sys.mkdir('/proc/foo'), 'ENOENT');
  expectErrno(() => init.sys.mkdir('/proc/self'), 'EEXIST');
  expectErrno(() => init.sys.unlink('/proc/self/status'), 'EPERM');
  expectErrno(() => init.sys.unlink('/proc/version'), 'EPERM');
  expectErrno(() => init.sys.unlink('/proc/sys/kernel/pid_max'), 'EACCES');
  expectErrno(() => init.sys.unlink('/proc/self/nofile'), 'ENOENT');
  expectErrno(() => init.sys.unlink('/proc/self/fd'), 'EPERM');
  expectErrno(() => init.sys.rmdir('/proc/self/fd'), 'EPERM');
  expectErrno(() => init.sys.rmdir('/proc/self'), 'ENOTDIR');
  expectErrno(() => init.sys.rmdir('/proc'), 'EBUSY');
  expectErrno(() => init.sys.rename('/proc/self/status', '/proc/self/x'), 'ENOENT');
  expectErrno(() => init.sys.rename('/proc/version', '/proc/v2'), 'ENOENT');
  expectErrno(() => init.sys.rename('/proc/self/status', '/proc/self/stat'), 'EPERM');
  expectErrno(() => init.sys.rename('/tmp', '/proc/v2'), 'EXDEV');
  // Not procfs: a name that merely starts with "proc".
  init.sys.mkdir('/procx');
  init.sys.rename('/procx', '/tmp/procy');
  // Measured on Linux 6.18 as uid 1000: EPERM inside /proc/<pid>, EACCES in /proc itself.
  const u = k.task(init.sys.fork())!;
  u.sys.setuid(1000);
  expectErrno(() => u.sys.unlink('/proc/self/status'), 'EPERM');
  expectErrno(() => u.sys.unlink('/proc/1/status'), 'EPERM');
  expectErrno(() => u.sys.rmdir('/proc/self/fd'), 'EPERM');
  expectErrno(() => u.sys.unlink('/proc/version'), 'EACCES');
  expectErrno(() => u.sys.rmdir('/proc/self'), 'EACCES');
  expectErrno(() => u.sys.mkdir('/proc/self/fd'), 'EEXIST');
});

test('/dev/full (drivers/char/mem.c): reads zeros, every write is ENOSPC, seeks to 0; device numbers', () => {
  const k = boot();
  const t = k.init;
  const fd = t.sys.open('/dev/full', C.O_RDWR);
  assert.deepEqual([...t.sys.read(fd, 4)], [0, 0, 0, 0]);
  expectErrno(() => t.sys.write(fd, new Uint8Array([1])), 'ENOSPC');
  expectErrno(() => t.sys.write(fd, new Uint8Array(0)), 'ENOSPC');
  assert.equal(t.sys.lseek(fd, 100, C.SEEK_SET), 0);
  const rdev = (p: string) => t.sys.stat(p).st_rdev;
  // new_encode_dev(MKDEV(1, 3)) … MKDEV(5, 1), as `stat -c %t:%T` shows 1:3, 1:5, 1:7, 5:1.
  assert.deepEqual(['/dev/null', '/dev/zero', '/dev/full', '/dev/console'].map(rdev), [0x103, 0x105, 0x107, 0x501]);
});

test('/proc/PID/fd links: lstat shows the link with its open mode, stat follows it', () => {
  const k = boot();
  const t = k.init;
  writeFile(t, '/tmp/f', 'abc', C.O_WRONLY | C.O_CREAT);
  const r = t.sys.open('/tmp/f', C.O_RDONLY);
  const w = t.sys.open('/tmp/f', C.O_WRONLY);
  const rw = t.sys.open('/dev/null', C.O_RDWR);
  const [pr, pw] = t.sys.pipe2(0);
  const link = (fd: number) => t.sys.lstat(`/proc/self/fd/${fd}`).st_mode;
  // tid_fd_update_inode: S_IFLNK | r-x for FMODE_READ | -wx for FMODE_WRITE.
  assert.deepEqual([r, w, rw, pr, pw].map(link), [0o120500, 0o120300, 0o120700, 0o120500, 0o120300]);
  const file = t.sys.stat('/tmp/f');
  const viaLink = t.sys.stat(`/proc/self/fd/${r}`);
  assert.equal(viaLink.st_ino, file.st_ino);
  assert.equal(viaLink.st_mode, file.st_mode);
  assert.equal(viaLink.st_size, 3);
  assert.equal(t.sys.stat(`/proc/self/fd/${rw}`).st_rdev, 0x103);
  assert.equal(t.sys.stat(`/proc/self/fd/${pr}`).st_mode & C.S_IFMT, C.S_IFIFO);
  assert.equal(t.sys.stat(`/proc/self/fd/${pr}`).st_ino, t.sys.fstat(pw).st_ino);
  // The namespace links lead to nsfs inodes whose number is the one readlink shows.
  const ns = t.sys.stat('/proc/self/ns/ipc');
  assert.equal(ns.st_mode, C.S_IFREG | 0o444);
  assert.equal(`ipc:[${ns.st_ino}]`, t.sys.readlink('/proc/self/ns/ipc'));
  assert.equal(t.sys.lstat('/proc/self/ns/ipc').st_mode & C.S_IFMT, C.S_IFLNK);
  t.sys.close(r);
  expectErrno(() => t.sys.stat(`/proc/self/fd/${r}`), 'ENOENT');
});

test('opening /proc/PID/fd/N opens the file it leads to (proc_fd_link), with the new open mode', () => {
  const k = boot();
  const t = k.init;
  writeFile(t, '/tmp/g', 'hello', C.O_WRONLY | C.O_CREAT);
  const r = t.sys.open('/tmp/g', C.O_RDONLY);
  t.sys.unlink('/tmp/g');
  // The file is unlinked, yet reachable through the link; the new description has its own offset and mode.
  const w = t.sys.open(`/proc/self/fd/${r}`, C.O_WRONLY | C.O_APPEND);
  t.sys.write(w, new TextEncoder().encode('!'));
  assert.equal(new TextDecoder().decode(t.sys.read(r, 100)), 'hello!');
  assert.equal(t.sys.fstat(w).st_ino, t.sys.fstat(r).st_ino);
  assert.equal(t.sys.readlink(`/proc/self/fd/${w}`), '/tmp/g (deleted)');
  expectErrno(() => t.sys.open(`/proc/self/fd/${r}`, C.O_RDONLY | C.O_NOFOLLOW), 'ELOOP');
  // A pipe: one more read end (CRIU's reopen of a pipe), and a write end through the read end's link.
  const [pr, pw] = t.sys.pipe2(0);
  const pr2 = t.sys.open(`/proc/self/fd/${pr}`, C.O_RDONLY);
  const pw2 = t.sys.open(`/proc/self/fd/${pr}`, C.O_WRONLY);
  t.sys.write(pw2, new Uint8Array([7, 8]));
  assert.deepEqual([...t.sys.read(pr2, 1)], [7]);
  assert.deepEqual([...t.sys.read(pr, 1)], [8]);
  t.sys.close(pw);
  t.sys.close(pw2);
  // No writer left: an anonymous pipe's end still opens at once, blocking or not (fifo_open's
  // is_pipe; pipe_rdwr_open in 2.6.26) — only a named FIFO waits for a partner.
  const pr3 = t.sys.open(`/proc/self/fd/${pr}`, C.O_RDONLY);
  const pr4 = t.sys.open(`/proc/self/fd/${pr}`, C.O_RDONLY | C.O_NONBLOCK);
  assert.equal(t.sys.read(pr3, 10).length, 0, 'no writer: end of file');
  t.sys.close(pr);
  t.sys.close(pr2);
  t.sys.close(pr3);
  t.sys.close(pr4);
  const [qr, qw] = t.sys.pipe2(0);
  t.sys.close(qr);
  // No reader: O_WRONLY opens (no ENXIO for a pipe), and a write then fails with EPIPE.
  const qw2 = t.sys.open(`/proc/self/fd/${qw}`, C.O_WRONLY | C.O_NONBLOCK);
  const qw3 = t.sys.open(`/proc/self/fd/${qw}`, C.O_WRONLY);
  t.sys.rt_sigprocmask(C.SIG_BLOCK, 1n << BigInt(C.SIGPIPE - 1));
  expectErrno(() => t.sys.write(qw2, new Uint8Array([1])), 'EPIPE');
  t.sys.close(qw2);
  t.sys.close(qw3);
  const both = t.sys.open(`/proc/self/fd/${qw}`, C.O_RDWR);
  t.sys.write(both, new Uint8Array([1]));
  assert.deepEqual([...t.sys.read(both, 1)], [1]);
});
