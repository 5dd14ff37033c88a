/**
 * The native half of the SysV IPC conformance suite: every script under scripts/ runs against
 * the host's real kernel (one fresh IPC namespace per script), and the harness itself is
 * checked — one well-formed result per op, no script errors, reproducible output, and a few
 * well-known Linux facts. Skips, saying why, without root, unshare or gcc.
 */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { canRunNative, runNative, scriptFiles, type NativeRun } from './native.js';
import { formatResult, normalise, parseResultLine, type NativeResult } from './results.js';
import { parseBody, parseScript, parseSops, parseValue, Refs, ScriptError, tokenize } from './script.js';

const native = canRunNative();
const skip = native.ok ? false : `native conformance needs root, unshare --ipc and gcc: ${native.reason}`;
const scripts = scriptFiles();

const runs = new Map<string, NativeRun>();
function run(name: string): NativeRun {
  let r = runs.get(name);
  if (!r) {
    const s = scripts.find((f) => f.name === name);
    if (!s) throw new Error(`no script ${name}`);
    r = runNative(s.text);
    runs.set(name, r);
  }
  return r;
}

/** The result of the nth op (after op `after`, if given) whose source line is `line`. */
function resultOf(name: string, line: string, nth = 0, after = -1): NativeResult {
  const s = scripts.find((f) => f.name === name)!;
  const ops = parseScript(s.text);
  const lines = s.text.split('\n');
  const matches = ops.filter((op) => op.index > after && lines[op.line - 1]!.trim() === line);
  const op = matches[nth];
  if (!op) throw new Error(`${name} has no line '${line}' (#${nth})`);
  return run(name)[op.index]!;
}

describe('conformance script grammar (TypeScript side)', () => {
  test('tokens, comments and texts with blanks', () => {
    assert.deepEqual(tokenize('msgsnd $q 1 "a b\\"c" 0 # note'), ['msgsnd', '$q', '1', '"a b\\"c"', '0']);
    assert.deepEqual(tokenize('   # only a comment'), []);
    assert.throws(() => tokenize('msgsnd $q 1 "open'), ScriptError);
  });

  test('ops, names, child ops and indices', () => {
    const ops = parseScript('# c\nq=msgget IPC_PRIVATE 0600\n\nchild semop $0 0:1:SEM_UNDO\nx= shmget 1 2 3\n');
    assert.deepEqual(
      ops.map((o) => [o.index, o.line, o.name, o.child, o.op, o.args.length]),
      [
        [0, 2, 'q', false, 'msgget', 2],
        [1, 4, undefined, true, 'semop', 2],
        [2, 5, 'x', false, 'shmget', 3],
      ],
    );
    assert.throws(() => parseScript('frobnicate 1'), ScriptError);
    assert.throws(() => parseScript('q=child msgget 1 0'), ScriptError);
  });

  test('values: C literals, names, | and references', () => {
    const refs = new Refs();
    refs.set(0, 'q', 32769);
    refs.set(1, undefined, undefined);
    assert.equal(parseValue('0600', refs), 0o600);
    assert.equal(parseValue('0x10|IPC_CREAT|IPC_EXCL', refs), 0x10 | 0o3000);
    assert.equal(parseValue('-1', refs), -1);
    assert.equal(parseValue('$q+32768', refs), 65537);
    assert.equal(parseValue('$0-1', refs), 32768);
    assert.throws(() => parseValue('$1', refs), ScriptError);
    assert.throws(() => parseValue('$nope', refs), ScriptError);
    assert.throws(() => parseValue('09', refs), ScriptError);
  });

  test('bodies and semaphore operation lists', () => {
    const refs = new Refs();
    assert.deepEqual([...parseBody('"a\\x00\\"\\\\"', refs).bytes], [0x61, 0, 0x22, 0x5c]);
    assert.equal(Buffer.from(parseBody('28', refs).bytes).toString('latin1'), 'abcdefghijklmnopqrstuvwxyzab');
    assert.deepEqual(parseBody('-1', refs), { bytes: new Uint8Array(0), size: -1 });
    assert.deepEqual(parseSops('0:-1:SEM_UNDO|IPC_NOWAIT,-1:1:0*2', refs), [
      { sem_num: 0, sem_op: -1, sem_flg: 0x1000 | 0o4000 },
      { sem_num: 65535, sem_op: 1, sem_flg: 0 },
      { sem_num: 65535, sem_op: 1, sem_flg: 0 },
    ]);
    assert.deepEqual(parseSops('-', refs), []);
  });

  test('result lines parse and print back identically', () => {
    for (const line of [
      '3 msgrcv 11 mtype=5 mtext="hello\\x20world"',
      '6 msgctl -EINVAL',
      '4 semctl 0 values=[1,2,3]',
      '8 shmat 0 addr=+0x10000',
      '9 shmctl 0 shm_perm.key=0x0000005a shm_perm.mode=0o1600 shm_segsz=10000 shm_nattch=2',
      '2 readsysctl 0 value=18446744073692774399',
      '1 bogus ! unknown operation',
    ]) {
      assert.equal(formatResult(parseResultLine(line)), line);
    }
    assert.deepEqual(parseResultLine('5 semctl 0 sem_perm.key=0x00000010 sem_perm.mode=0o600').obs, {
      sem_perm: { key: 16, mode: 0o600 },
    });
  });
});

describe('native SysV IPC harness (real kernel, fresh IPC namespace per script)', { skip }, () => {
  test('the corpus is large enough', () => {
    const total = scripts.reduce((n, s) => n + parseScript(s.text).length, 0);
    assert.ok(scripts.length >= 5, `${scripts.length} scripts`);
    assert.ok(total >= 250, `${total} ops`);
  });

  for (const s of scripts) {
    test(`${s.name}: one well-formed result per op, no script errors`, () => {
      const ops = parseScript(s.text);
      const r = run(s.name);
      assert.equal(r.status, 0, r.stdout);
      assert.equal(r.stderr, '');
      assert.equal(r.length, ops.length);
      r.forEach((res, i) => {
        const op = ops[i]!;
        assert.equal(res.index, i);
        assert.equal(res.op, (op.child ? 'child:' : '') + op.op, `line ${op.line}`);
        assert.equal(res.error, undefined, `line ${op.line}: ${res.error}`);
        assert.ok((res.ret !== undefined) !== (res.errno !== undefined), `line ${op.line}`);
      });
      // The text form round-trips, so a model-side run can be printed in the same format.
      const lines = r.stdout.split('\n').filter((l) => /^\d/.test(l));
      assert.deepEqual(lines.map((l) => formatResult(parseResultLine(l))), lines);
    });
  }

  test('every script is reproducible once normalised (fresh namespace each run)', () => {
    for (const s of scripts) {
      const a = normalise(run(s.name));
      const b = normalise(runNative(s.text));
      assert.deepEqual(b, a, s.name);
    }
  });

  test('normalise replaces times and the harness pids only', () => {
    const r = run('sem.txt');
    const n = normalise(r);
    const stat = n[resultOf('sem.txt', 'semctl $s 0 IPC_STAT', 2).index]!;
    assert.equal((stat.obs as { sem_otime: unknown }).sem_otime, 'T');
    assert.equal((stat.obs as { sem_ctime: unknown }).sem_ctime, 'T');
    assert.equal(n[resultOf('sem.txt', 'semctl $s 0 IPC_STAT').index]!.obs!['sem_otime'], 0);
    assert.equal(n[resultOf('sem.txt', 'semctl $s 1 GETPID').index]!.ret, 'PID');
    const child = resultOf('sem.txt', 'child semop $s 0:2:SEM_UNDO,1:-3:SEM_UNDO');
    assert.equal(n[resultOf('sem.txt', 'semctl $s 0 GETPID', 0, child.index).index]!.ret, `CHILD@${child.index}`);
    assert.equal(n[resultOf('sem.txt', 'semctl $s 0 GETPID').index]!.ret, 0);
    assert.equal(JSON.stringify(n).includes(String(r.meta.pid)), false);
  });

  test('well-known Linux facts hold', () => {
    // Fresh namespace: ids 0, 1, 2 per type; RMID of 0 does not make it the next id.
    assert.equal(resultOf('ids.txt', 'q0=msgget IPC_PRIVATE IPC_CREAT|0600').ret, 0);
    assert.equal(resultOf('ids.txt', 'q1=msgget IPC_PRIVATE 0600').ret, 1);
    assert.equal(resultOf('ids.txt', 's0=semget IPC_PRIVATE 1 0600').ret, 0);
    assert.equal(resultOf('ids.txt', 'q4=msgget IPC_PRIVATE 0600').ret, 4);
    // Stale (wrong seq) and negative ids are EINVAL.
    assert.equal(resultOf('ids.txt', 'msgctl $q1+32768 IPC_STAT').errno, 'EINVAL');
    assert.equal(resultOf('ids.txt', 'shmat $m0+32768 0 0').errno, 'EINVAL');
    assert.equal(resultOf('ids.txt', 'semop -1 0:1:0').errno, 'EINVAL');
    assert.equal(resultOf('ids.txt', 'msgget 0x1000 IPC_CREAT|IPC_EXCL|0600').errno, 'EEXIST');
    assert.equal(resultOf('ids.txt', 'msgget 0x2000 0').errno, 'ENOENT');
    // Permissions as euid 1000.
    assert.equal(resultOf('perms.txt', 'msgget 0x100 0400').errno, 'EACCES');
    assert.equal(resultOf('perms.txt', 'msgctl $q_other IPC_RMID').errno, 'EPERM');
    // Messages.
    assert.equal(resultOf('msg.txt', 'msgrcv $q 100 0 MSG_COPY').errno, 'EINVAL');
    assert.equal(resultOf('msg.txt', 'msgrcv $q 3 3 IPC_NOWAIT').errno, 'E2BIG');
    assert.deepEqual(resultOf('msg.txt', 'msgrcv $q 100 -4 IPC_NOWAIT|MSG_EXCEPT').obs, { mtype: 1, mtext: 'one-b' });
    assert.deepEqual(resultOf('msg.txt', 'msgrcv $q 100 -4 IPC_NOWAIT', 1).obs, { mtype: 2, mtext: 'two-c' });
    // Semaphores.
    assert.equal(resultOf('sem.txt', 'semop $s 3:1:0').errno, 'EFBIG');
    assert.equal(resultOf('sem.txt', 'semop $s 0:0:0*501').errno, 'E2BIG');
    assert.equal(resultOf('sem.txt', 'semctl $s 0 GETNCNT', 1).ret, 0);
    // SEM_UNDO adjustments are applied when the (child) process exits.
    const child = resultOf('sem.txt', 'child semop $s 0:2:SEM_UNDO,1:-3:SEM_UNDO');
    assert.deepEqual(resultOf('sem.txt', 'semctl $s 0 GETALL', 0, child.index).obs, { values: [5, 5, 5] });
    // Shared memory: RMID while attached sets SHM_DEST and makes the key private.
    const dest = resultOf('shm.txt', 'shmctl $m IPC_STAT', 5).obs as { shm_perm: { key: number; mode: number } };
    assert.deepEqual([dest.shm_perm.key, dest.shm_perm.mode], [0, 0o1600]);
    // next_id: -1 cannot be written; a set next_id is honoured and consumed.
    assert.equal(resultOf('next_id.txt', 'sysctl msg_next_id -1').errno, 'EINVAL');
    assert.equal(resultOf('next_id.txt', 'q=msgget 0x77 IPC_CREAT|0600').ret, 98309);
    // Limits and the cyclic wrap.
    assert.equal(resultOf('limits.txt', 'msgget IPC_PRIVATE 0600').errno, 'ENOSPC');
    assert.equal(resultOf('wrap.txt', 'w1=msgget IPC_PRIVATE 0600').ret, 32769);
    assert.deepEqual(resultOf('blocking.txt', 'msgrcv $q 100 0 0'), { index: 1, op: 'msgrcv', errno: 'EINTR', obs: { blocked: 1 } });
  });

  test('script errors are reported per line, and the run goes on', () => {
    const r = runNative('bogus 1\nmsgget\nmsgctl $nope IPC_STAT\nmsgsnd 0 1 "open 0\nq=msgget IPC_PRIVATE 0600\n');
    assert.equal(r.status, 2);
    assert.deepEqual(
      r.map((x) => [x.op, x.error !== undefined]),
      [['bogus', true], ['msgget', true], ['msgctl', true], ['?', true], ['msgget', false]],
    );
    assert.equal(r[4]!.ret, 0);
  });
});
