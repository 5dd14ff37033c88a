/**
 * Explorers over the scheduler's choice points (SchedulePolicy, src/syscalls/scheduler.ts).
 *
 * A schedule is the list of decisions taken at the choice points that had more than one option:
 * for a `task` point the kid that steps, for a `signal` point 0 (deliver now) or 1 (defer). Runs are
 * stateless replays from the scenario's prepared state (the model is deterministic): a prefix of
 * decisions is followed, then a fallback decides.
 *
 * - Exhaustive with a preemption bound (CHESS, Musuvathi & Qadeer 2007): the fallback keeps running
 *   the task that ran last while it can; switching away from a task that could still run is a
 *   preemption, deferring a deliverable signal counts as one too, and switches forced by a task
 *   blocking or exiting are free. Every schedule with at most `bound` preemptions is run, except
 *   below a choice point whose state (`raceStateKey`, with the last task) was already reached
 *   with at least as much budget left: that subtree was explored from there.
 * - PCT (Burckhardt et al. 2010): random distinct task priorities and `depth - 1` random points where
 *   the running task drops to the lowest priority; the highest-priority runnable task steps.
 *   Pinned seeds: run i uses seed + i.
 */
import { createHash } from 'node:crypto';
import { KernelBug } from '../abi/errno.js';
import { signalName } from '../syscalls/trace.js';
import { Kernel, ProgramCrash, type SchedChoice, type SchedulePolicy } from '../syscalls/scheduler.js';
import type { KernelState } from '../kernel/state.js';
import { check, describeViolation, type Violation } from './oracle.js';
import type { Prepared } from './scenarios.js';
import { restoreOnce, type AdversaryChoice, type PreparedRestore } from './restore-scenario.js';
import type { StrategyName } from '../cr/strategy.js';

/** The c/r restore of a container with one c/r strategy (the `restore` scenario). */
export interface RestoreTarget {
  restore: PreparedRestore;
  strategy: StrategyName;
}

/** What can be explored: a program scenario or a restore. */
export type Explorable = Prepared | RestoreTarget;

type Choice = SchedChoice | AdversaryChoice;

interface Point {
  kind: Choice['kind'];
  options: number[];
  pick: number;
  /** Preemptions spent before this point. */
  costBefore: number;
  /** The task that stepped last (0: none yet). */
  last: number;
  /** The state here was reached earlier in the same run with no more preemptions: no branches from here on. */
  repeat: boolean;
}

/** The exhaustive search's cache: state key → the fewest preemptions it was reached with, and in which run. */
export type StateCache = Map<string, { cost: number; run: number }>;

/** Thrown out of `kernel.run` when a run reaches a state an earlier run reached with as much budget. */
class Pruned extends Error {}

export interface RunOutcome {
  decisions: number[];
  points: Point[];
  violations: Violation[];
  preemptions: number;
  steps: number;
  /** strace-like lines with the scheduler's non-default choices (when traced). */
  trace: string[];
  /** Stopped at a cached state (its continuations were explored from there): no verdict. */
  pruned: boolean;
}

type Fallback = (c: Choice, options: number[], last: number, index: number) => number;

/**
 * A stable hash of a kernel state (Maps, Sets, bigints and byte arrays included). Object fields
 * whose name matches `skip` are left out.
 */
export function stateHash(state: unknown, skip: RegExp | null = null): string {
  // One string, hashed once: far cheaper than an update per field (a state has thousands).
  let out = '';
  const walk = (v: unknown): void => {
    if (v === null || v === undefined) out += `${String(v)};`;
    else if (typeof v === 'number') out += `${v};`;
    else if (typeof v === 'bigint') out += `${v}n;`;
    else if (typeof v !== 'object') out += `${JSON.stringify(v)};`;
    else if (v instanceof Uint8Array) out += `b${v.length}:${Buffer.from(v.buffer, v.byteOffset, v.length).toString('latin1')}`;
    else if (v instanceof Map) {
      out += 'M{';
      for (const [a, b] of v) {
        walk(a);
        walk(b);
      }
      out += '}';
    } else if (v instanceof Set) {
      out += 'S{';
      for (const a of v) walk(a);
      out += '}';
    } else if (Array.isArray(v)) {
      out += '[';
      for (const a of v) walk(a);
      out += ']';
    } else {
      out += '{';
      for (const key of Object.keys(v)) {
        if (skip?.test(key)) continue;
        out += `${key}:`;
        walk((v as Record<string, unknown>)[key]);
      }
      out += '}';
    }
  };
  walk(state);
  return createHash('sha1').update(out, 'latin1').digest('hex');
}

/**
 * Timestamps (inode mtime/ctime, IPC stime/rtime/ctime/otime/atime/dtime, and the same in a
 * program's copies of msqid_ds & co.): no race scenario reads the clock, so they cannot change
 * what happens from a state on. Deadlines are kept, relative to the clock.
 */
const TIMESTAMP = /^(?:(?:msg|sem|shm)_)?[a-z]time(?:Ns)?$/;

/**
 * The key of a state for the exhaustive search's cache: two states with the same key behave the
 * same from here on for every schedule. It leaves out what differs between interleavings that
 * reach the same situation but cannot change what follows — the virtual clock (deadlines are
 * taken relative to it), timestamps, the scheduler's step count, the next internal id — orders
 * the run queue (every runnable task is an option at each point, at the same cost), and numbers
 * the fd tables, mms and open file descriptions by first use from the tasks (their ids are
 * internal: no syscall shows them) instead of by allocation. Pids, fds, IPC ids, inode numbers and
 * the id allocators' cursors are kept: programs see those.
 */
export function raceStateKey(s: KernelState): string {
  const fdt = new Map<number, number>();
  const mm = new Map<number, number>();
  const file = new Map<number, number>();
  const num = (m: Map<number, number>, id: number): number => {
    let n = m.get(id);
    if (n === undefined) m.set(id, (n = m.size));
    return n;
  };
  const tasks = [...s.tasks.values()].map((t) => ({
    ...t,
    fdtable: num(fdt, t.fdtable),
    mm: num(mm, t.mm),
    blocked: t.blocked && { ...t.blocked, deadlineNs: t.blocked.deadlineNs === null ? null : t.blocked.deadlineNs - s.clockNs },
  }));
  const fdtables = [...fdt].map(([id, n]) => {
    const ft = s.fdtables.get(id);
    return ft && { ...ft, id: n, fds: [...ft.fds].map(([fd, f]) => [fd, num(file, f)]) };
  });
  const mms = [...mm].map(([id, n]) => {
    const m = s.mms.get(id);
    return m && { ...m, id: n };
  });
  const files = [...file].map(([id, n]) => {
    const f = s.files.get(id)!;
    return { ...f, id: n };
  });
  // What no task reaches (kept with its own ids: only less pruning if it differs).
  const rest = {
    fdtables: [...s.fdtables.values()].filter((x) => !fdt.has(x.id)),
    mms: [...s.mms.values()].filter((x) => !mm.has(x.id)),
    files: [...s.files.values()].filter((x) => !file.has(x.id)),
  };
  const runq = [...s.runq].sort((a, b) => a - b);
  return stateHash({ profile: s.profile, pidMax: s.pidMax, tasks, procs: s.procs, pidns: s.pidns, ipcns: s.ipcns, fdtables, mms, files, rest, inodes: s.inodes, runq, panicked: s.panicked, ipc: s.ipc }, TIMESTAMP);
}

/** Keeps the last task running while it can; delivers signals at once. */
export const CONTINUE: Fallback = (c, options, last) => (c.kind !== 'task' ? 0 : options.includes(last) ? last : options[0]!);

class Director implements SchedulePolicy {
  readonly points: Point[] = [];
  last = 0;
  preemptions = 0;

  constructor(
    private readonly prefix: readonly number[],
    private readonly fallback: Fallback,
    private readonly cache: StateCache | null,
    private readonly run: number,
    private readonly trace: string[] | null,
  ) {}

  /** A choice point inside a library-driven restore: 1 lets the adversary step now. */
  adversary(k: Kernel, c: AdversaryChoice): number {
    return this.choose(k, c);
  }

  choose(k: Kernel, c: Choice): number {
    const options = c.kind === 'task' ? [...c.runq] : [0, 1];
    if (options.length === 1) return this.taken(k, c, options[0]!, 0);
    const index = this.points.length;
    const pick = index < this.prefix.length ? this.prefix[index]! : this.fallback(c, options, this.last, index);
    if (!options.includes(pick)) throw new KernelBug(`replay diverged at decision ${index}: ${pick} is not one of ${options.join(',')}`);
    let repeat = false;
    // Past the prefix (where this run's branches start), look the state up.
    if (this.cache && index >= this.prefix.length) {
      const key = `${c.kind}|${c.kind !== 'task' ? c.kid : this.last}|${raceStateKey(k.s)}`;
      const before = this.cache.get(key);
      if (before && before.cost <= this.preemptions) {
        if (before.run !== this.run) throw new Pruned();
        repeat = true;
      } else {
        this.cache.set(key, { cost: this.preemptions, run: this.run });
      }
    }
    this.points.push({ kind: c.kind, options, pick, costBefore: this.preemptions, last: this.last, repeat });
    return this.taken(k, c, pick, options.indexOf(pick));
  }

  private taken(k: Kernel, c: Choice, pick: number, index: number): number {
    if (c.kind === 'adversary') {
      if (pick === 1) {
        this.preemptions++;
        this.trace?.push(`--- before the restore's ${c.step}: the adversary (pid ${c.kid}) takes a step (preemption ${this.preemptions}) ---`);
      }
      return index;
    }
    if (c.kind === 'signal') {
      if (pick === 1) {
        this.preemptions++;
        const t = k.s.tasks.get(c.kid);
        const sigs = [...(t?.pending ?? []), ...(t ? k.s.procs.get(t.tgid)?.pending ?? [] : [])].map(signalName).join(',');
        this.trace?.push(`--- ${sigs} pending for pid ${c.kid}: delivery deferred (preemption ${this.preemptions}) ---`);
      }
      return index;
    }
    if (pick !== this.last && c.runq.includes(this.last)) {
      this.preemptions++;
      this.trace?.push(`--- preempt pid ${this.last}, run pid ${pick} (preemption ${this.preemptions}) ---`);
    }
    this.last = pick;
    return index;
  }
}

/** Runs one schedule of a prepared scenario: `prefix` first, then `fallback`. */
export function runSchedule(
  p: Explorable,
  prefix: readonly number[],
  opts: { fallback?: Fallback; cache?: StateCache | null; run?: number; trace?: boolean; maxSteps?: number } = {},
): RunOutcome {
  const trace: string[] | null = opts.trace ? [] : null;
  if ('restore' in p) {
    // No state cache here: the engine's own progress is not in the kernel state.
    const d = new Director(prefix, opts.fallback ?? CONTINUE, null, 0, trace);
    const why = restoreOnce(p.restore, p.strategy, d, trace ? (line) => trace.push(line) : null);
    const violations: Violation[] = why === null ? [] : [{ kind: 'restore', want: 0, got: why, holder: '' }];
    return { decisions: d.points.map((x) => x.pick), points: d.points, violations, preemptions: d.preemptions, steps: d.points.length, trace: trace ?? [], pruned: false };
  }
  const k = Kernel.fromState(p.state, { programs: p.programs });
  const d = new Director(prefix, opts.fallback ?? CONTINUE, opts.cache ?? null, opts.run ?? 0, trace);
  k.policy = d;
  if (trace) k.tracer = (line) => trace.push(line);
  let violations: Violation[];
  let steps = 0;
  try {
    steps = k.run({ maxSteps: opts.maxSteps ?? 5000 }).steps;
    violations = check(k, p.restorer, p.objs);
  } catch (e) {
    if (e instanceof Pruned) return { decisions: d.points.map((x) => x.pick), points: d.points, violations: [], preemptions: d.preemptions, steps, trace: trace ?? [], pruned: true };
    if (!(e instanceof ProgramCrash)) throw e;
    violations = [{ kind: 'lost', want: 0, got: e.message.split('\n')[0]!, holder: '' }];
  }
  return { decisions: d.points.map((x) => x.pick), points: d.points, violations, preemptions: d.preemptions, steps, trace: trace ?? [], pruned: false };
}

export interface ExploreResult {
  strategy: string;
  schedules: number;
  violating: number;
  /** Distinct states seen at choice points (exhaustive search). */
  states: number;
  /**
   * Runs stopped by the cache at a state an earlier run reached with at least as much budget (its
   * continuations were explored from there); not counted in `schedules` (exhaustive search).
   */
  pruned: number;
  /** The shortest violating schedule (fewest preemptions, then fewest steps). */
  shortest: RunOutcome | null;
  /** The schedule limit stopped the search before it was complete. */
  truncated: boolean;
  /** Violating schedules by kind of violation (numbers replaced by N). */
  classes: Record<string, number>;
}

/** The kind of a violating run: its violations with the numbers left out. */
export function violationClass(r: RunOutcome): string {
  return r.violations.map(describeViolation).join('; ').replace(/\b\d+\b/g, 'N');
}

function tally(classes: Record<string, number>, r: RunOutcome): void {
  const c = violationClass(r);
  classes[c] = (classes[c] ?? 0) + 1;
}

function better(a: RunOutcome, b: RunOutcome | null): boolean {
  return !b || a.preemptions < b.preemptions || (a.preemptions === b.preemptions && (a.steps < b.steps || (a.steps === b.steps && a.decisions.length < b.decisions.length)));
}

/**
 * Every schedule with at most `bound` preemptions (up to `limit` runs; `cache` false: no state
 * cache). `schedules` counts the runs that went to their end; a run that reaches a cached state
 * stops there (`pruned`).
 */
export function exhaustive(p: Explorable, bound: number, limit = 20000, cache = true): Omit<ExploreResult, 'strategy'> {
  const seen: StateCache | null = cache && !('restore' in p) ? new Map() : null;
  const stack: number[][] = [[]];
  let schedules = 0;
  let violating = 0;
  let pruned = 0;
  let shortest: RunOutcome | null = null;
  const classes: Record<string, number> = {};
  const result = (truncated: boolean) => ({ schedules, violating, states: seen?.size ?? 0, pruned, shortest, truncated, classes });
  while (stack.length > 0) {
    if (schedules + pruned >= limit) return result(true);
    const prefix = stack.pop()!;
    const r = runSchedule(p, prefix, { cache: seen, run: schedules + pruned });
    if (r.pruned) pruned++;
    else {
      schedules++;
      if (r.violations.length > 0) {
        violating++;
        tally(classes, r);
        if (better(r, shortest)) shortest = r;
      }
    }
    // Alternatives at the points past the prefix (earlier ones were branched by an ancestor).
    const branches: number[][] = [];
    for (let i = prefix.length; i < r.points.length; i++) {
      const pt = r.points[i]!;
      if (pt.repeat) break;
      for (const opt of pt.options) {
        if (opt === pt.pick) continue;
        const cost = pt.costBefore + preemptionCost(pt, opt);
        if (cost <= bound) branches.push([...r.decisions.slice(0, i), opt]);
      }
    }
    for (let j = branches.length - 1; j >= 0; j--) stack.push(branches[j]!);
  }
  return result(false);
}

/** What taking `opt` costs: a deferred signal, or leaving the last task while it can still run. */
function preemptionCost(pt: Point, opt: number): number {
  if (pt.kind === 'signal') return opt === 1 ? 1 : 0;
  return pt.options.includes(pt.last) && opt !== pt.last ? 1 : 0;
}

/** A small seeded PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** PCT: `runs` runs with priority-change depth `depth`, run i seeded with `seed + i`. */
export function pct(p: Explorable, runs: number, seed: number, depth = 3): Omit<ExploreResult, 'strategy'> {
  const length = Math.max(1, runSchedule(p, []).points.length);
  let violating = 0;
  let shortest: RunOutcome | null = null;
  const classes: Record<string, number> = {};
  for (let r = 0; r < runs; r++) {
    const rand = rng(seed + r);
    const prio = new Map<number, number>();
    const changes = new Map<number, number>();
    for (let i = 1; i < depth; i++) changes.set(Math.floor(rand() * length), i);
    const fallback: Fallback = (c, options, last, index) => {
      if (c.kind === 'adversary') return changes.has(index) ? 1 : 0;
      if (c.kind === 'signal') return 0;
      const low = changes.get(index);
      if (low !== undefined && last) prio.set(last, -low);
      for (const kid of options) if (!prio.has(kid)) prio.set(kid, depth + rand());
      return options.reduce((best, kid) => (prio.get(kid)! > prio.get(best)! ? kid : best), options[0]!);
    };
    const out = runSchedule(p, [], { fallback });
    if (out.violations.length > 0) {
      violating++;
      tally(classes, out);
      if (better(out, shortest)) shortest = out;
    }
  }
  return { schedules: runs, violating, states: 0, pruned: 0, shortest, truncated: false, classes };
}
