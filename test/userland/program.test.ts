import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel } from '../../src/syscalls/scheduler.js';
import { Session, runShell } from '../../src/cli/session.js';
import { defineProgram, installUserland } from '../../src/userland/index.js';
import { readDir } from '../../src/userland/lib/files.js';

// A user program written with the helper layer: prints its arguments in reverse, one per step,
// and a big burst of output that must wait for room in a pipe.
const REV_ARGS = defineProgram<{ i: number; burst: boolean }>({
  name: '/usr/bin/rev-args',
  start: ({ argv }) => ({ i: argv.length - 1, burst: argv[1] === '--burst' }),
  step(p) {
    const s = p.state;
    if (s.burst) {
      p.out('x'.repeat(200_000) + '\n');
      return p.exit(0);
    }
    if (s.i < 1) return p.exit(0);
    p.out(`${p.argv[s.i--]}\n`);
    return undefined;
  },
});

describe('program layer', () => {
  it('a user program installed in a kernel runs under the shell', () => {
    const r = runShell('/usr/bin/rev-args a b c', { programs: [REV_ARGS] });
    assert.equal(r.stdout, 'c\nb\na\n');
  });

  it('output that does not fit in a pipe is queued in the state and drained in order', () => {
    const r = runShell('/usr/bin/rev-args --burst | wc -c; /usr/bin/rev-args --burst | head -c 5; echo', { programs: [REV_ARGS] });
    assert.equal(r.stdout, '200001\nxxxxx\n');
    assert.equal(r.status, 0);
  });

  it('a shell checkpointed mid-pipeline (plain data) resumes in a new kernel', () => {
    const out: string[] = [];
    const s = new Session({ stdout: (b) => out.push(Buffer.from(b).toString()), stderr: () => {} });
    s.start(['/bin/sh', '-c', 'i=0; while [ $i -lt 50 ]; do echo line $i; i=$((i+1)); done | grep -c line; for x in a b; do echo $x; done']);
    s.endInput();
    s.runSlice(40);
    const state = structuredClone(s.kernel.snapshot());
    // The clone is a different kernel: the console (code, not state) is attached again.
    const k2 = Kernel.fromState(state, { programs: s.kernel.programs.values() });
    const out2: string[] = [];
    k2.devices.set('console', { read: () => new Uint8Array(0), write: (_k, b) => (out2.push(Buffer.from(b).toString()), b.length) });
    k2.run();
    assert.equal(out.join('') + out2.join(''), '50\na\nb\n');
  });

  it('installUserland puts every program in the tree', () => {
    const k = new Kernel();
    installUserland(k);
    const names = k.init.sys.getdents64(k.init.sys.open('/bin', 0o200000)).map((d) => d.d_name);
    for (const n of ['sh', 'cat', 'ls', 'ps', 'ipcs', 'ipcmk', 'ipcrm', 'syscall', 'unshare', 'nsenter', 'mq-producer']) assert.ok(names.includes(n), n);
  });

  it('init with no child sleeps on one pipe, made once: reaping orphans does not leak descriptors', () => {
    const k = new Kernel();
    installUserland(k);
    k.init.sys.execve('/sbin/init', ['init']);
    k.run();
    const fds = () => readDir(k.init.sys, '/proc/1/fd').filter((n) => /^\d+$/.test(n)).length;
    const before = fds();
    for (let i = 0; i < 5; i++) {
      k.task(k.init.sys.fork())!.sys.execve('/bin/true', ['true']);
      k.run();
    }
    assert.equal(fds(), before);
  });
});
