/**
 * strategy.hold: the nsd strategy arms a run of IPC creations through one held
 * next_syscall_data file (a real write before each creation), and leaves no fd behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants as C } from '../../src/index.js';
import { getStrategy, STRATEGIES } from '../../src/cr/strategy.js';
import { boot } from '../helpers.js';

const lowestFreeFd = (sys: { open(p: string, f: number): number; close(fd: number): void }): number => {
  const fd = sys.open('/', C.O_RDONLY);
  sys.close(fd);
  return fd;
};

for (const name of STRATEGIES) {
  test(`hold (${name}): each creation gets its id, and the fd table is as before`, () => {
    const k = boot('linux-6');
    const sys = k.init.sys;
    const strat = getStrategy(name);
    const before = lowestFreeFd(sys);
    const ids = [5, 32768 + 9, 3 * 32768 + 1];
    const got = strat.hold(sys, () => {
      // nsd holds the file open: the lowest free fd moved up by one.
      assert.equal(lowestFreeFd(sys), name === 'nsd' ? before + 1 : before);
      return ids.map((id) => strat.ipcCreate(sys, 'msg', id, (s) => s.msgget(0, C.IPC_CREAT | 0o600), (s) => s.msgget_with_id(id, 0, C.IPC_CREAT | 0o600)));
    });
    assert.deepEqual(got, ids);
    assert.equal(lowestFreeFd(sys), before);
  });
}

test('hold (nsd): a failure inside is what the caller sees, and the held file is closed', () => {
  const k = boot('linux-6');
  const sys = k.init.sys;
  const strat = getStrategy('nsd');
  const before = lowestFreeFd(sys);
  assert.throws(() => strat.hold(sys, () => {
    strat.ipcCreate(sys, 'sem', 7, (s) => s.semget(0, 1, C.IPC_CREAT | 0o600), () => -1);
    throw new Error('injected');
  }), /injected/);
  assert.equal(lowestFreeFd(sys), before);
  // Outside a hold the strategy arms by open/write/close again.
  assert.equal(strat.ipcCreate(sys, 'sem', 8, (s) => s.semget(0, 1, C.IPC_CREAT | 0o600), () => -1), 8);
});
