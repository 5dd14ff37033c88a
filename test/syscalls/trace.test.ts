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
    '[pid 1] open("/dev/null", O_RDONLY, 0666) = 0',
    '[pid 1] pipe2(O_CLOEXEC) = [1,2]',
    '[pid 1] open("/tmp/f", O_WRONLY|O_CREAT|O_EXCL, 0600) = 3',
    '[pid 1] open("/nope/x", O_RDONLY, 0666) = -1 ENOENT (No such file or directory)',
    '[pid 1] kill(1, 0) = 0',
    '[pid 1] read(1, 10) <unfinished ...>',
  ]);
});
