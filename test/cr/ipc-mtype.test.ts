/**
 * Message types ≥ 2^53 (valid C longs) go through a checkpoint exactly — dump, images (CRIU's u64
 * mtype), restore in every strategy and `--ipc-only` — and an image whose mtype is not a message
 * type (0, or above LONG_MAX) is refused naming the image and the message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel, constants as C } from '../../src/index.js';
import { CrError, dump, restore, restoreIpcOnly, STRATEGIES } from '../../src/cr/index.js';
import { writeImage } from '../../src/cr/image/index.js';
import { Sys } from '../../src/syscalls/sys.js';

const TYPES = [2n ** 53n + 1n, 2n ** 53n, 2n ** 63n - 1n, 1, 2 ** 40];

function build(k: Kernel) {
  const c = k.task(k.init.sys.clone(C.CLONE_NEWPID | C.CLONE_NEWIPC | C.SIGCHLD))!;
  const q = c.sys.msgget(0x81, C.IPC_CREAT | 0o600);
  TYPES.forEach((t, i) => c.sys.msgsnd(q, t, `m${i}`, 0));
  return { c, q };
}

function drain(sys: Sys, q: number): [number | bigint, string][] {
  const out: [number | bigint, string][] = [];
  for (;;) {
    try {
      const m = sys.msgrcv(q, 100, 0, C.IPC_NOWAIT);
      out.push([m.mtype, new TextDecoder().decode(m.mtext)]);
    } catch {
      return out;
    }
  }
}

const EXPECTED = TYPES.map((t, i) => [t, `m${i}`]);

test('64-bit message types are restored exactly, in every strategy and with --ipc-only', () => {
  for (const strategy of STRATEGIES) {
    const k = new Kernel();
    const { c, q } = build(k);
    const d = dump(k, c.pid);
    k.init.sys.wait4(c.pid, 0);
    const r = restore(k, d.images, { strategy });
    assert.deepEqual(drain(k.task(r.rootPid)!.sys, q), EXPECTED, strategy);

    const criu = new Map([...d.images].filter(([name]) => /^(ipcns-|pagemap-shmem-|pages-)/.test(name)));
    const k2 = new Kernel();
    const r2 = restoreIpcOnly(k2, criu, { strategy });
    assert.deepEqual(drain(new Sys(k2, r2.holderPid), q), EXPECTED, `${strategy} --ipc-only`);
  }
});

test('an image whose message type is not 1..LONG_MAX is refused, naming the image and the message', () => {
  const k = new Kernel();
  const { c } = build(k);
  const d = dump(k, c.pid);
  for (const bad of [0n, 2n ** 63n, 2n ** 64n - 1n]) {
    const images = new Map([...d.images].filter(([name]) => /^(ipcns-|pagemap-shmem-|pages-)/.test(name)));
    const body = new TextEncoder().encode('x');
    images.set('ipcns-msg-1.img', writeImage('ipcns-msg',
      [{ desc: { key: 0x81, uid: 0, gid: 0, cuid: 0, cgid: 0, mode: 0o600, id: 0 }, qbytes: 16384, qnum: 1 }],
      [{ kind: 'ipc-msg', messages: [{ mtype: bad, msize: 1, body }] }]));
    const k2 = new Kernel();
    const snap = k2.snapshot();
    assert.throws(() => restoreIpcOnly(k2, images), (e) => e instanceof CrError && /ipcns-msg-1\.img/.test(e.message) && /mtype/.test(e.message), `mtype ${bad}`);
    assert.deepEqual(k2.snapshot(), snap);
  }
});
