/**
 * The race explorer: the scheduler's policy hook (the default policy changes nothing), the
 * explorers (exhaustive with a preemption bound, PCT with pinned seeds), the oracle, the scenario
 * figures the docs quote, and replayable traces.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants as C, Kernel, installUserland } from '../../src/index.js';
import { DEFAULT_POLICY, type SchedChoice } from '../../src/syscalls/scheduler.js';
import {
  exhaustive, exploreCell, findScenario, formatTable, parseTraceFile, pct, prepare, raceStateKey, runSchedule, stateHash, traceFile,
} from '../../src/races/index.js';

/** A shell workload with pipes, a background job, a signal, a fork and IPC; returns its trace and state hash. */
function workload(seed: number, policy: boolean): { trace: string[]; hash: string; steps: number } {
  const k = new Kernel({ seed });
  installUserland(k);
  const init = k.init.sys;
  init.open('/dev/null', C.O_RDWR);
  init.dup(0);
  init.dup(0);
  const trace: string[] = [];
  k.tracer = (l) => trace.push(l);
  if (policy) k.policy = DEFAULT_POLICY;
  const pid = init.fork();
  k.task(pid)!.sys.execve('/bin/sh', ['sh', '-c', 'echo a | cat > /tmp/x; sleep 5 & kill $!; ipcmk -Q; ( cat /tmp/x ) | wc -c; wait']);
  const steps = k.run({ maxSteps: 20000 }).steps;
  return { trace, hash: stateHash(k.snapshot()), steps };
}

test('the default policy gives the very same run as no policy (seeded and not)', () => {
  for (const seed of [0, 5, 12345]) {
    const a = workload(seed, false);
    const b = workload(seed, true);
    assert.ok(a.steps > 20, `the workload runs (${a.steps} steps)`);
    assert.deepEqual(b.trace, a.trace, `seed ${seed}: same syscalls in the same order`);
    assert.equal(b.hash, a.hash, `seed ${seed}: same final state`);
  }
});

test('a policy sees task and signal choice points and its choice is obeyed', () => {
  const p = prepare(findScenario('handler'), 'nsd');
  const k = Kernel.fromState(p.state, { programs: p.programs });
  const seen: SchedChoice['kind'][] = [];
  // Always the last task in the queue; always defer a signal once.
  let deferred = false;
  k.policy = {
    choose: (_k, c) => {
      seen.push(c.kind);
      if (c.kind === 'signal') return deferred ? 0 : ((deferred = true), 1);
      return c.runq.length - 1;
    },
  };
  k.run({ maxSteps: 1000 });
  assert.ok(seen.includes('task') && seen.includes('signal'), `choice points seen: ${[...new Set(seen)].join(',')}`);
  assert.throws(() => {
    const k2 = Kernel.fromState(p.state, { programs: p.programs });
    k2.policy = { choose: () => 99 };
    k2.run({ maxSteps: 10 });
  }, /schedule policy chose task 99/);
});

test('exhaustive search: bound 0 finds no handler race, bound 1 finds it (CHESS)', () => {
  const p = prepare(findScenario('handler'), 'nsd');
  const b0 = exhaustive(p, 0);
  assert.equal(b0.violating, 0, 'without preemption the signal lands before the arm or after the use');
  const b1 = exhaustive(p, 1);
  assert.ok(b1.schedules > b0.schedules);
  assert.ok(b1.violating > 0, 'one preemption between arm and use lets the handler steal the value');
  assert.equal(b1.shortest!.preemptions, 1);
  assert.match(b1.shortest!.violations.map((v) => `${v.kind} ${v.want} ${String(v.got)}`).join(';'), /^pid 300 /);
});

test('the state cache prunes: fewer runs than without it, the same kinds of violation found', () => {
  for (const [sc, st, bound] of [['handler', 'nsd', 1], ['vfork', 'nsd', 1], ['fork', 'ns_last_pid', 1], ['thread', 'ns_last_pid', 2]] as const) {
    const p = prepare(findScenario(sc), st);
    const r = exhaustive(p, bound);
    const plain = exhaustive(p, bound, 20000, false);
    const what = `${sc}/${st} --bound ${bound}: with cache ${r.schedules} + ${r.pruned} pruned, without ${plain.schedules}`;
    assert.ok(r.states > 0 && r.pruned > 0, what);
    assert.ok(r.schedules + r.pruned < plain.schedules, what);
    assert.equal(plain.pruned, 0);
    assert.ok(r.violating > 0 && r.violating < r.schedules, `${r.violating}/${r.schedules}`);
    assert.deepEqual(Object.keys(r.classes).sort(), Object.keys(plain.classes).sort(), what);
    assert.equal(r.shortest!.preemptions, plain.shortest!.preemptions, 'the shortest race needs as many preemptions either way');
  }
});

test('the cache key leaves out the clock, timestamps and internal ids, and keeps what programs see', () => {
  // A forked process with a pipe, and a blocked sleeper with a deadline.
  const k = new Kernel();
  installUserland(k);
  const a = k.task(k.init.sys.fork())!;
  a.sys.pipe();
  const state = k.snapshot();
  const copy = () => Kernel.fromState(state, { programs: k.programs.values() }).snapshot();
  const base = raceStateKey(state);
  // The same situation later, with its internal ids allocated differently.
  const s = copy();
  s.clockNs += 5e9;
  s.nextId += 100;
  s.sched.steps += 7;
  for (const i of s.inodes.values()) i.mtimeNs += 3;
  const [id, ft] = [...s.fdtables].find(([, x]) => x.fds.size > 0)!;
  s.fdtables.delete(id);
  s.fdtables.set(id + 1000, { ...ft, id: id + 1000 });
  for (const t of s.tasks.values()) if (t.fdtable === id) t.fdtable = id + 1000;
  const fileIds = [...ft.fds.values()];
  for (const fid of fileIds) {
    const f = s.files.get(fid)!;
    s.files.delete(fid);
    s.files.set(fid + 1000, { ...f, id: fid + 1000 });
  }
  for (const x of s.fdtables.values()) for (const [fd, fid] of x.fds) if (fileIds.includes(fid)) x.fds.set(fd, fid + 1000);
  s.runq.reverse();
  assert.equal(raceStateKey(s), base);
  // An armed value, an fd number or a pipe's inode is not left out.
  const armed = copy();
  armed.tasks.get(a.kid)!.nsd = { ndata: 1, data: [1n] };
  assert.notEqual(raceStateKey(armed), base);
  const fd = copy();
  const t0 = [...fd.fdtables.values()].find((x) => x.fds.size > 0)!;
  const [n, f] = [...t0.fds].at(-1)!;
  t0.fds.delete(n);
  t0.fds.set(n + 10, f);
  assert.notEqual(raceStateKey(fd), base);
  const ino = copy();
  const pipe = [...ino.files.values()].find((x) => x.kind === 'pipe')!;
  pipe.ino += 1;
  assert.notEqual(raceStateKey(ino), base);
});

test('the figures of docs/races.md (bound 1): which strategies lose ids where', () => {
  const cells = [];
  for (const sc of ['handler', 'thread', 'ipc-ns', 'vfork', 'exec']) {
    for (const st of ['nsd', 'with-id', 'ns_last_pid', 'set_tid', 'next_id'] as const) cells.push(exploreCell(findScenario(sc), st, { kind: 'exhaustive', bound: 1 }));
  }
  const table = formatTable(cells);
  const row = (name: string) => table.split('\n').find((l) => l.startsWith(`| ${name} `))!;
  const racy = (cell: string) => /^\d+\//.test(cell) && !cell.startsWith('0/');
  const cellsOf = (name: string) => row(name).split('|').slice(2, -1).map((x) => x.trim());
  // with-id and set_tid: never.
  assert.ok(cellsOf('with-id').every((c) => !racy(c)), row('with-id'));
  assert.ok(cellsOf('set_tid').every((c) => !racy(c)), row('set_tid'));
  // nsd: racy within its own thread (handler, vfork, exec), safe across threads and processes.
  assert.deepEqual(cellsOf('nsd').map(racy), [true, false, false, true, true], row('nsd'));
  // ns_last_pid: racy with anything forking in the namespace, including another thread.
  assert.deepEqual(cellsOf('ns_last_pid').map(racy), [true, true, false, true, false], row('ns_last_pid'));
  // *_next_id: racy with any msgget in the IPC namespace, the task's own handler included.
  assert.deepEqual(cellsOf('*_next_id').map(racy), [true, true, true, true, false], row('*_next_id'));
});

test('PCT with a pinned seed is reproducible and finds the cross-process ns_last_pid race', () => {
  const p = prepare(findScenario('fork'), 'ns_last_pid');
  const a = pct(p, 40, 7);
  const b = pct(p, 40, 7);
  assert.equal(a.violating, b.violating);
  assert.deepEqual(a.shortest?.decisions, b.shortest?.decisions);
  assert.ok(a.violating > 0, `PCT found ${a.violating}/40`);
  const safe = pct(prepare(findScenario('fork'), 'set_tid'), 40, 7);
  assert.equal(safe.violating, 0);
});

test('a trace replays: same schedule line, same strace-like lines, same verdict', () => {
  const p = prepare(findScenario('thread'), 'ns_last_pid');
  const r = exhaustive(p, 1);
  const { text, outcome } = traceFile('thread', 'ns_last_pid', r.shortest!.decisions);
  assert.ok(outcome.violations.length > 0);
  assert.match(text, /^# schedule thread ns_last_pid [\d ]+\n/);
  assert.match(text, /ns_last_pid/);
  assert.match(text, /--- preempt pid \d+, run pid \d+ \(preemption 1\) ---/);
  const s = parseTraceFile(text);
  assert.equal(traceFile(s.scenario, s.strategy, s.decisions).text, text);
  assert.throws(() => parseTraceFile('nothing'), /no '# schedule/);
  assert.throws(() => parseTraceFile('# schedule thread nsd 1 x'), /bad decision 'x'/);
  assert.throws(() => parseTraceFile('# schedule nope nsd'), /unknown scenario 'nope'/);
  // A schedule that does not fit the scenario is refused, not silently run.
  assert.throws(() => runSchedule(p, [999]), /replay diverged at decision 0/);
});

test('nsd races: table, trace, --save and --replay, clear errors', async () => {
  const { Command } = await import('commander');
  const { mkdtempSync, readFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { addRacesCommands } = await import('../../src/cli/races-commands.js');
  const run = async (argv: string[]) => {
    let out = '';
    let err = '';
    let status = 0;
    const program = new Command().exitOverride();
    addRacesCommands(program, { stdout: (t) => void (out += String(t)), stderr: (t) => void (err += String(t)), exit: (s) => void (status = s) });
    await program.parseAsync(['node', 'nsd', ...argv]);
    return { out, err, status };
  };
  const dir = mkdtempSync(join(tmpdir(), 'nsd-races-'));
  const r = await run(['races', 'exec', '--bound', '1', '--save', dir]);
  assert.equal(r.status, 0, r.err);
  assert.match(r.out, /\| nsd +\| 6\/6 +\|/);
  assert.match(r.out, /\| with-id +\| 0\/4 +\|/);
  assert.match(r.out, /execve\("\/races\/restorer"/);
  const saved = readFileSync(join(dir, 'exec-nsd.trace'), 'utf8');
  const again = await run(['races', '--replay', join(dir, 'exec-nsd.trace')]);
  assert.equal(again.out, saved);
  const bad = await run(['races', 'nope']);
  assert.equal(bad.status, 2);
  assert.match(bad.err, /unknown scenario 'nope'/);
  const badStrategy = await run(['races', 'exec', '--strategy', 'magic']);
  assert.match(badStrategy.err, /unknown strategy 'magic'/);
  const both = await run(['races', 'exec', '--bound', '1', '--pct', '3']);
  assert.match(both.err, /exclude each other/);
  const seedAlone = await run(['races', 'exec', '--seed', '3']);
  assert.match(seedAlone.err, /--seed and --depth go with --pct/);
  const missing = await run(['races', '--replay', join(dir, 'none.trace')]);
  assert.match(missing.err, /cannot read replay file/);
});

test('restore scenario: the c/r engine under an adversary in its namespaces; no adversary step, no failure', () => {
  const target = (st: 'nsd' | 'with-id' | 'set_tid') => exploreCell(findScenario('restore'), st, { kind: 'exhaustive', bound: 0 });
  // Bound 0: the adversary never steps during the restore; every strategy restores everything.
  for (const st of ['nsd', 'with-id', 'set_tid'] as const) {
    const c = target(st);
    assert.equal(c.result!.violating, 0, `${st}: ${JSON.stringify(c.result!.classes)}`);
    assert.equal(c.result!.schedules, 1);
  }
  assert.equal(exploreCell(findScenario('restore'), 'ns_last_pid', { kind: 'exhaustive', bound: 0 }).result, null, 'linux-6 mainline does not use ns_last_pid');
  // Bound 1: one adversary step at the wrong time refuses the restore (an id taken first).
  const one = exploreCell(findScenario('restore'), 'with-id', { kind: 'exhaustive', bound: 1 });
  assert.ok(one.result!.violating > 0);
  assert.ok(Object.keys(one.result!.classes).every((k) => /the restore was refused: restore failed at .*(EEXIST|EBUSY)/.test(k)), JSON.stringify(one.result!.classes));
  const { text } = traceFile('restore', 'with-id', one.result!.shortest!.decisions);
  assert.match(text, /the adversary \(pid \d+\) takes a step \(preemption 1\)/);
  assert.match(text, /setns\(/);
});
