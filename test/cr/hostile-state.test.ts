/**
 * Hostile task state: nsd-extra.img carries what the restorer writes into the kernel as it is
 * (credentials, signal state, next_syscall_data, the program envelope, a parked call). A well-formed,
 * correctly checksummed image with values of the wrong type or range is refused before anything is
 * created, and the target kernel is left exactly as it was. (The manifest is re-made after each edit,
 * as a forger would: the entries' own checks must catch it.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dump, restore, MANIFEST, writeManifest } from '../../src/cr/index.js';
import { readNsdExtra, writeNsdExtra } from '../../src/cr/image/index.js';
import { decodePlain, encodePlain } from '../../src/cr/plain.js';
import { TASKS_EXTRA } from '../../src/cr/images.js';
import { bootWl, startContainer } from './workload.js';

type Edit = (v: Record<string, any>) => void;

const EDITS: Array<[string, string, Edit]> = [
  ['uid as a string', 'task', (v) => (v.cred.uid = 'root')],
  ['negative gid', 'task', (v) => (v.cred.gid = -5)],
  ['capabilities as a number', 'task', (v) => (v.cred.capPermitted = 7)],
  ['pending signal 99', 'task', (v) => (v.pending = [99])],
  ['next_syscall_data with 40 values', 'task', (v) => (v.nsd = { ndata: 40, data: new Array(40).fill(1n) })],
  ['next_syscall_data count mismatch', 'task', (v) => (v.nsd = { ndata: 2, data: [1n] })],
  ['unknown parked syscall', 'task', (v) => (v.blocked = { call: { name: 'no_such_call', args: [] }, remainNs: null, result: null, data: null })],
  ['program argv not strings', 'task', (v) => v.prog && (v.prog.argv = [1, 2])],
  ['relative cwd', 'task', (v) => (v.cwd = 'tmp')],
  ['signal disposition 7', 'proc', (v) => (v.sigaction[5] = 7)],
  ['exit signal 200', 'proc', (v) => (v.exitSignal = 200)],
  ['RLIMIT_NOFILE negative', 'proc', (v) => (v.rlimNofile = -1)],
  // Issue 9 A2: every field of every section against one schema; missing, out of range, unknown.
  ['meta.ownIpcNs deleted', 'meta', (v) => delete v.ownIpcNs],
  ['mm.mmapBase deleted', 'mm', (v) => delete v.mmapBase],
  ['mm.mmapBase negative', 'mm', (v) => (v.mmapBase = -4096)],
  ['mm.maps deleted', 'mm', (v) => delete v.maps],
  ['task.prog.data deleted', 'task', (v) => delete v.prog.data],
  ['file.dirPos negative', 'file', (v) => (v.dirPos = -1)],
  ['fdtable.fds deleted', 'fdtable', (v) => delete v.fds],
  ['an unknown field', 'proc', (v) => (v.nice = 5)],
  ['task.tids deleted', 'task', (v) => delete v.tids],
  ['pidns.lastPid as a string', 'pidns', (v) => (v.lastPid = '7')],
  ['meta.profile unknown', 'meta', (v) => (v.profile = 'linux-1.0')],
  ['task.exitCode a fraction', 'task', (v) => (v.exitCode = 0.5)],
];

/** What the refusal must name for each edit: the image, the entry and (for a field) the field. */
const NAMES: Record<string, RegExp> = {
  'meta.ownIpcNs deleted': /entry meta\/: field ownIpcNs is missing/,
  'mm.mmapBase deleted': /entry mm\/0: field mmapBase is missing/,
  'mm.mmapBase negative': /entry mm\/0: field mmapBase is below 0 \(value -4096\)/,
  'mm.maps deleted': /entry mm\/0: field maps is missing/,
  'task.prog.data deleted': /entry task\/1: field prog\.data is missing/,
  'file.dirPos negative': /entry file\/0: field dirPos is below 0 \(value -1\)/,
  'fdtable.fds deleted': /entry fdtable\/0: field fds is missing/,
  'an unknown field': /entry proc\/1: field nice is not a field of this entry \(value 5\)/,
};

test('nsd-extra.img with task or process state of the wrong type or range is refused; the kernel is untouched', () => {
  const k = bootWl();
  const root = startContainer(k, [['open', '/log', 'log'], ['log', 'x'], ['sleep', 100000]], false);
  k.run({ until: () => root.state.state === 'blocked' });
  const { images } = dump(k, root.pid, { leaveRunning: true });
  const { entries } = readNsdExtra(images.get(TASKS_EXTRA)!, TASKS_EXTRA);
  for (const [what, section, edit] of EDITS) {
    let edited = false;
    const changed = entries.map((e) => {
      if (edited || e.section !== section) return e;
      const v = decodePlain(e.json ?? "") as Record<string, any>;
      edit(v);
      edited = true;
      return { ...e, json: encodePlain(v) };
    });
    assert.ok(edited, `${what}: the image has a ${section} entry`);
    const bad = new Map(images);
    bad.set(TASKS_EXTRA, writeNsdExtra(changed));
    bad.set(MANIFEST, writeManifest(bad));
    const before = k.snapshot();
    assert.throws(() => restore(k, bad, { strategy: 'nsd' }), (e: Error) => /nsd-extra\.img/.test(e.message) && (NAMES[what]?.test(e.message) ?? true), what);
    assert.deepEqual(k.snapshot(), before, `${what}: the kernel changed`);
  }
});

test('nsd-extra.img with an unknown section or a duplicated entry is refused, naming it', () => {
  const k = bootWl();
  const root = startContainer(k, [['open', '/log', 'log'], ['sleep', 100000]], false);
  k.run({ until: () => root.state.state === 'blocked' });
  const { images } = dump(k, root.pid, { leaveRunning: true });
  const { entries } = readNsdExtra(images.get(TASKS_EXTRA)!, TASKS_EXTRA);
  const cases: Array<[string, typeof entries, RegExp]> = [
    ['unknown section', [...entries, { section: 'cgroup', key: '0', json: '{}' }], /entry cgroup\/0: unknown section "cgroup"/],
    ['duplicate task', [...entries, entries.find((e) => e.section === 'task')!], /entry task\/1: duplicate entry/],
    ['bad key', entries.map((e) => (e.section === 'proc' ? { ...e, key: '01' } : e)), /entry proc\/01: key "01" is not a decimal number/],
  ];
  for (const [what, changed, name] of cases) {
    const bad = new Map(images);
    bad.set(TASKS_EXTRA, writeNsdExtra(changed));
    bad.set(MANIFEST, writeManifest(bad));
    const before = k.snapshot();
    assert.throws(() => restore(k, bad, { strategy: 'nsd' }), (e: Error) => /nsd-extra\.img/.test(e.message) && name.test(e.message), what);
    assert.deepEqual(k.snapshot(), before, `${what}: the kernel changed`);
  }
});
