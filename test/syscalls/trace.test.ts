/** strace-like tracing: argument and result formats, errors, and calls that sleep. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel, WouldBlockError, constants as C } from '../../src/index.js';

test('trace lines look like strace', () => {
  const k = new Kernel();
  const lines: string[] = [];
  k.tracer = (l) => lines.push(l);
  const t = k.init;
  t.sys.open('/dev/null', C.O_RDONLY);
  t.sys.pipe2(C.O_CLOEXEC);
  t.sys.open('/tmp/f', C.O_WRONLY | C.O_CREAT | C.O_EXCL, 0o600);
  assert.throws(() => t.sys.open('/nope/x', C.O_RDONLY));
  t.sys.kill(1, 0);
  assert.throws(() => t.sys.read(1, 10), WouldBlockError);
  assert.deepEqual(lines, [
    '[pid 1] open("/dev/null", O_RDONLY) = 0',
    '[pid 1] pipe2([1, 2], O_CLOEXEC) = 0',
    '[pid 1] open("/tmp/f", O_WRONLY|O_CREAT|O_EXCL, 0600) = 3',
    '[pid 1] open("/nope/x", O_RDONLY) = -1 ENOENT (No such file or directory)',
    '[pid 1] kill(1, 0) = 0',
    '[pid 1] read(1, <unfinished ...>',
  ]);
});

test('results are C-like structs in their argument\'s place, as strace prints them', () => {
  const k = new Kernel();
  const lines: string[] = [];
  const t = k.init;
  const fd = t.sys.open('/tmp/r', C.O_RDWR | C.O_CREAT, 0o644);
  t.sys.write(fd, 'hi\n');
  t.sys.lseek(fd, 0, 0);
  k.tracer = (l) => lines.push(l);
  t.sys.read(fd, 10);
  t.sys.stat('/tmp');
  t.sys.stat('/dev/null');
  t.sys.rt_sigaction(C.SIGCHLD, C.SIG_IGN);
  t.sys.rt_sigaction(C.SIGCHLD);
  t.sys.rt_sigprocmask(C.SIG_BLOCK, (1n << BigInt(C.SIGINT - 1)) | (1n << BigInt(C.SIGTERM - 1)));
  t.sys.getresuid();
  t.sys.clock_gettime(0);
  assert.deepEqual(lines, [
    '[pid 1] read(0, "hi\\n", 10) = 3',
    '[pid 1] stat("/tmp", {st_mode=S_IFDIR|01777, st_size=4096, ...}) = 0',
    '[pid 1] stat("/dev/null", {st_mode=S_IFCHR|0666, st_rdev=makedev(0x1, 0x3), ...}) = 0',
    '[pid 1] rt_sigaction(SIGCHLD, {sa_handler=SIG_IGN, sa_mask=[], sa_flags=0}, {sa_handler=SIG_DFL, sa_mask=[], sa_flags=0}, 8) = 0',
    '[pid 1] rt_sigaction(SIGCHLD, NULL, {sa_handler=SIG_IGN, sa_mask=[], sa_flags=0}, 8) = 0',
    '[pid 1] rt_sigprocmask(SIG_BLOCK, [INT TERM], [], 8) = 0',
    '[pid 1] getresuid([0], [0], [0]) = 0',
    '[pid 1] clock_gettime(CLOCK_REALTIME, {tv_sec=1215516263, tv_nsec=0}) = 0',
  ]);
});

test('pids are the initial namespace\'s (strace on the host); wait statuses are decoded', () => {
  const k = new Kernel();
  const lines: string[] = [];
  const t = k.init;
  t.sys.unshare(C.CLONE_NEWPID);
  const pid = t.sys.fork();
  const child = k.task(pid)!;
  const inner = k.taskIn(child, child.sys.fork())!;
  k.tracer = (l) => lines.push(l);
  inner.sys.getpid();
  inner.sys.exit_group(3);
  child.sys.wait4(-1, 0);
  assert.equal(inner.pid, 3);
  assert.deepEqual(lines, [
    '[pid 3] getpid() = 2',
    '[pid 3] exit_group(3) = 0',
    '[pid 2] wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 3}], 0, NULL) = 2',
  ]);
});
