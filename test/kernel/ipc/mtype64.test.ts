/**
 * Message types are C longs (64-bit signed), carried exactly: a type ≥ 2^53 is a bigint (a safe
 * integer stays a number), selection by exact type, by `msgtyp < 0` (lowest type ≤ |msgtyp|,
 * LONG_MIN per profile) and with MSG_EXCEPT compares exact values; the received mtype is exact;
 * a bigint mtype is cast to 64 bits as C casts it. Also under the scheduler (pipelined hand-off)
 * and across a snapshot.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel, constants as C } from '../../../src/index.js';
import { expectErrno, PROFILES } from '../../helpers.js';
import { SEQ, results, spawn } from './seq.js';

const P53 = 2n ** 53n;
const LONG_MAX = 2n ** 63n - 1n;
const LONG_MIN = -(2n ** 63n);
const dec = new TextDecoder();

for (const profile of PROFILES) {
  test(`${profile}: 64-bit message types are sent, selected and received exactly`, () => {
    const k = new Kernel({ profile });
    const sys = k.init.sys;
    const q = sys.msgget(C.IPC_PRIVATE, 0o600);
    const send = (t: number | bigint, text: string) => sys.msgsnd(q, t, text, 0);
    send(P53 + 1n, 'a');
    send(P53, 'b');
    send(LONG_MAX, 'c');
    send(7, 'd');
    send(Number.MAX_SAFE_INTEGER, 'e');
    const rcv = (typ: number | bigint, flg = 0) => {
      const m = sys.msgrcv(q, 10, typ, flg | C.IPC_NOWAIT);
      return [m.mtype, dec.decode(m.mtext)];
    };
    // Exact type: 2^53 + 1 is not 2^53 (as doubles they would be equal).
    assert.deepEqual(rcv(P53 + 1n), [P53 + 1n, 'a']);
    expectErrno(() => rcv(P53 + 1n), 'ENOMSG');
    // A bigint naming a safe integer selects the number-typed message, and comes back as a number.
    assert.deepEqual(rcv(7n), [7, 'd']);
    // msgtyp < 0: the lowest type ≤ |msgtyp|.
    assert.deepEqual(rcv(-(P53 + 5n)), [Number.MAX_SAFE_INTEGER, 'e']);
    // MSG_EXCEPT: the first message whose type is not 2^53.
    assert.deepEqual(rcv(P53, C.MSG_EXCEPT), [LONG_MAX, 'c']);
    send(LONG_MAX, 'f');
    // LONG_MIN: -LONG_MIN is LONG_MAX in modern kernels; 2.6.26 left LONG_MIN (nothing matches).
    if (profile === 'linux-6') assert.deepEqual(rcv(LONG_MIN), [P53, 'b']);
    else {
      expectErrno(() => rcv(LONG_MIN), 'ENOMSG');
      assert.deepEqual(rcv(-LONG_MAX), [P53, 'b']);
    }
    assert.deepEqual(rcv(0), [LONG_MAX, 'f']);
    // (long) casts: 2^64 + 5 is 5; 2^63 is LONG_MIN (< 1: EINVAL), as are 0 and negatives.
    send(2n ** 64n + 5n, 'g');
    assert.deepEqual(rcv(5), [5, 'g']);
    for (const bad of [0n, -1n, 2n ** 63n, LONG_MIN, -(P53 + 1n)]) expectErrno(() => send(bad, 'x'), 'EINVAL', `mtype ${bad}`);
    expectErrno(() => sys.msgsnd(q, 1.5, 'x', 0), 'EINVAL');
    expectErrno(() => sys.msgrcv(q, 10, 0.5, 0), 'EINVAL');
    expectErrno(() => sys.msgsnd(q, '1' as never, 'x', 0), 'EINVAL');
  });

  test(`${profile}: a sleeping receiver is handed a message with a 64-bit type; types survive a snapshot`, () => {
    const k = new Kernel({ profile });
    k.installProgram(SEQ);
    const sys = k.init.sys;
    const q = sys.msgget(C.IPC_PRIVATE, 0o600);
    spawn(k, 'low', [['msgrcv', [q, 10, -100, 0]]]);
    spawn(k, 'except', [['msgrcv', [q, 10, 1, C.MSG_EXCEPT]]]);
    k.run();
    sys.msgsnd(q, P53 + 3n, 'big', 0);
    sys.msgsnd(q, P53 + 4n, 'kept', 0);
    k.run();
    assert.deepEqual(results('low'), []);
    assert.equal((results('except')[0] as { mtype: bigint }).mtype, P53 + 3n);
    const k2 = Kernel.fromState(k.snapshot(), { programs: k.programs.values() });
    assert.equal(k2.init.sys.msgrcv(q, 10, P53 + 4n, C.IPC_NOWAIT).mtype, P53 + 4n);
  });
}
