/**
 * Explorers over the scheduler's choice points (SchedulePolicy, src/syscalls/kernel.ts).
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
 *   below a choice point whose state (a hash of `snapshot()`, with the last task) was already
 *   reached with at least as much budget left: that subtree was explored from there.
 * - PCT (Burckhardt et al. 2010): random distinct task priorities and `depth - 1` random points where
 *   the running task drops to the lowest priority; the highest-priority runnable task steps.
 *   Pinned seeds: run i uses seed + i.
 */
import { createHash } from 'node:crypto';
import { KernelBug } from '../abi/errno.js';
import { signalName } from '../syscalls/trace.js';
import { Kernel, ProgramCrash, type SchedChoice, type SchedulePolicy } from '../syscalls/kernel.js';
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
  /** Cache key of the state at this point (exhaustive search only). */
  key: string | null;
}

export interface RunOutcome {
  decisions: number[];
  points: Point[];
  violations: Violation[];
  preemptions: number;
  steps: number;
  /** strace-like lines with the scheduler's non-default choices (when traced). */
  trace: string[];
}

type Fallback = (c: Choice, options: number[], last: number, index: number) => number;

/** A stable hash of a kernel state (Maps, Sets, bigints and byte arrays included). */
export function stateHash(state: unknown): string {
  const h = createHash('sha1');
  const walk = (v: unknown): void => {
    if (v === null || v === undefined) h.update(String(v) + ';');
    else if (typeof v === 'bigint') h.update(`${v}n;`);
    else if (typeof v !== 'object') h.update(JSON.stringify(v) + ';');
    else if (v instanceof Uint8Array) h.update(`b${v.length}:`).update(v);
    else if (v instanceof Map) {
      h.update('M{');
      for (const [a, b] of v) {
        walk(a);
        walk(b);
      }
      h.update('}');
    } else if (v instanceof Set) {
      h.update('S{');
      for (const a of v) walk(a);
      h.update('}');
    } else if (Array.isArray(v)) {
      h.update('[');
      for (const a of v) walk(a);
      h.update(']');
    } else {
      h.update('{');
      for (const key of Object.keys(v)) {
        h.update(key + ':');
        walk((v as Record<string, unknown>)[key]);
      }
      h.update('}');
    }
  };
  walk(state);
  return h.digest('hex');
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
    private readonly hashing: boolean,
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
    const key = this.hashing ? `${c.kind}|${c.kind !== 'task' ? c.kid : this.last}|${stateHash(k.snapshot())}` : null;
    this.points.push({ kind: c.kind, options, pick, costBefore: this.preemptions, last: this.last, key });
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
export function runSchedule(p: Explorable, prefix: readonly number[], opts: { fallback?: Fallback; hashing?: boolean; trace?: boolean; maxSteps?: number } = {}): RunOutcome {
  const trace: string[] | null = opts.trace ? [] : null;
  if ('restore' in p) {
    // No state cache here: the engine's own progress is not in the kernel state.
    const d = new Director(prefix, opts.fallback ?? CONTINUE, false, trace);
    const why = restoreOnce(p.restore, p.strategy, d, trace ? (line) => trace.push(line) : null);
    const violations: Violation[] = why === null ? [] : [{ kind: 'restore', want: 0, got: why, holder: '' }];
    return { decisions: d.points.map((x) => x.pick), points: d.points, violations, preemptions: d.preemptions, steps: d.points.length, trace: trace ?? [] };
  }
  const k = Kernel.fromState(p.state);
  const d = new Director(prefix, opts.fallback ?? CONTINUE, opts.hashing ?? false, trace);
  k.policy = d;
  if (trace) k.tracer = (line) => trace.push(line);
  let violations: Violation[];
  let steps = 0;
  try {
    steps = k.run({ maxSteps: opts.maxSteps ?? 5000 }).steps;
    violations = check(k, p.restorer, p.objs);
  } catch (e) {
    if (!(e instanceof ProgramCrash)) throw e;
    violations = [{ kind: 'lost', want: 0, got: e.message.split('\n')[0]!, holder: '' }];
  }
  return { decisions: d.points.map((x) => x.pick), points: d.points, violations, preemptions: d.preemptions, steps, trace: trace ?? [] };
}

export interface ExploreResult {
  strategy: string;
  schedules: number;
  violating: number;
  /** Distinct states seen at choice points (exhaustive search). */
  states: number;
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

/** Every schedule with at most `bound` preemptions (up to `limit` runs; `cache` false: no state cache). */
export function exhaustive(p: Explorable, bound: number, limit = 20000, cache = true): Omit<ExploreResult, 'strategy'> {
  const seen = new Map<string, number>();
  const stack: number[][] = [[]];
  let schedules = 0;
  let violating = 0;
  let shortest: RunOutcome | null = null;
  const classes: Record<string, number> = {};
  while (stack.length > 0) {
    if (schedules >= limit) return { schedules, violating, states: seen.size, shortest, truncated: true, classes };
    const prefix = stack.pop()!;
    const r = runSchedule(p, prefix, { hashing: cache && !('restore' in p) });
    schedules++;
    if (r.violations.length > 0) {
      violating++;
      tally(classes, r);
      if (better(r, shortest)) shortest = r;
    }
    // Alternatives at the points past the prefix (earlier ones were branched by an ancestor).
    const branches: number[][] = [];
    for (let i = prefix.length; i < r.points.length; i++) {
      const pt = r.points[i]!;
      if (pt.key !== null) {
        const before = seen.get(pt.key!);
        if (before !== undefined && before <= pt.costBefore) break;
        seen.set(pt.key!, pt.costBefore);
      }
      for (const opt of pt.options) {
        if (opt === pt.pick) continue;
        const cost = pt.costBefore + preemptionCost(pt, opt);
        if (cost <= bound) branches.push([...r.decisions.slice(0, i), opt]);
      }
    }
    for (let j = branches.length - 1; j >= 0; j--) stack.push(branches[j]!);
  }
  return { schedules, violating, states: seen.size, shortest, truncated: false, classes };
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
  return { schedules: runs, violating, states: 0, shortest, truncated: false, classes };
}
