/**
 * The `npm start` demo (src/cr/demo.ts): every strategy's restored run ends with the same log as
 * the uninterrupted run, the table shows identical pids and IPC ids everywhere, and marks exactly
 * what mainline loses (IPC times and last pids). Times themselves are not compared.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runDemo } from '../../src/cr/demo.js';

test('runDemo: OK for every strategy; the table marks what mainline lost', () => {
  const chunks: string[] = [];
  const r = runDemo((s) => chunks.push(s), { tty: false });
  const text = chunks.join('');
  assert.deepEqual(r.verdicts, { nsd: 'OK', 'with-id': 'OK', mainline: 'OK' });
  for (const s of ['nsd', 'with-id', 'mainline']) assert.match(text, new RegExp(`^${s} +OK$`, 'm'));
  assert.deepEqual(r.table[0], ['', 'original', 'nsd', 'with-id', 'mainline']);
  const row = (name: string) => r.table.find((x) => x[0] === name)!;
  // What must come back identically with every strategy.
  for (const name of ['pids inside', 'ids msg/sem/shm', 'msg qnum', 'sem values', 'shm nattch', 'SEM_UNDO']) {
    const [, orig, ...restored] = row(name);
    for (const v of restored) assert.equal(v, orig, name);
  }
  assert.match(row('pids inside')[1]!, /^1 2 3 4\(thr\) 5 6\(thr\)$/);
  // Last pids and times: kept by nsd and with-id, lost (marked) by mainline.
  for (const name of ['msg lspid/lrpid', 'msg stime/rtime', 'sem otime']) {
    const [, orig, nsd, withId, mainline] = row(name);
    assert.equal(nsd, orig, `${name} nsd`);
    assert.equal(withId, orig, `${name} with-id`);
    assert.ok(mainline!.endsWith('*'), `${name} mainline: ${mainline}`);
  }
  assert.match(text, /^\$ ps -T/m);
  assert.match(text, /^0x0000c0de 0 +root/m, 'ipcs shows the queue');
  assert.match(text, /^pid \d+: 0=\/dev\/console .* 3=\/var\/log\/cr-demo\.log/m, 'fd tables');
  assert.match(text, /^dump: \[10\/10\] finish$/m, 'plain progress lines without a TTY');
  assert.match(r.log, /^init 1\/1: counter = 12 after 12 jobs$/m);
});

test('runDemo on linux-2.6.26: nsd and with-id restore OK; mainline is skipped, saying why (issue 9 B17)', () => {
  const chunks: string[] = [];
  const r = runDemo((s) => chunks.push(s), { tty: false, profile: 'linux-2.6.26' });
  assert.deepEqual(r.verdicts, { nsd: 'OK', 'with-id': 'OK' });
  assert.match(chunks.join(''), /^# not on linux-2\.6\.26: .*neither clone3 set_tid nor ns_last_pid/m);
});
