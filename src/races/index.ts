/**
 * The race explorer's front: runs scenarios × strategies with an explorer, formats the table, and
 * writes/reads replayable traces.
 *
 * A trace file is the strace-like trace of one schedule, headed by its schedule line:
 *   # schedule SCENARIO STRATEGY d0 d1 …
 * (the decisions at the choice points with more than one option). `nsd races --replay FILE` runs
 * that schedule again and prints the same trace.
 */
import { exhaustive, pct, runSchedule, type ExploreResult, type RunOutcome } from './explore.js';
import { describeViolation } from './oracle.js';
import { RACE_STRATEGIES, STRATEGY_KINDS, type RaceStrategy } from './programs.js';
import { crStrategyFor, findScenario, prepare, type Scenario } from './scenarios.js';
import { prepareRestore } from './restore-scenario.js';
import type { Explorable } from './explore.js';

export { SCENARIOS, findScenario, prepare } from './scenarios.js';
export { RACE_STRATEGIES, type RaceStrategy } from './programs.js';
export { exhaustive, pct, raceStateKey, runSchedule, stateHash } from './explore.js';
export { check, describeViolation } from './oracle.js';

/** How strategies are named in tables and on the command line. */
export const STRATEGY_LABEL: Record<RaceStrategy, string> = {
  nsd: 'nsd', 'with-id': 'with-id', ns_last_pid: 'ns_last_pid', set_tid: 'set_tid', next_id: '*_next_id',
};

export function parseStrategy(s: string): RaceStrategy {
  const name = s === '*_next_id' || s === 'next_id' ? 'next_id' : s;
  if (!(RACE_STRATEGIES as readonly string[]).includes(name)) {
    throw new Error(`unknown strategy '${s}' (expected one of: ${RACE_STRATEGIES.map((x) => STRATEGY_LABEL[x]).join(', ')})`);
  }
  return name as RaceStrategy;
}

export type Mode = { kind: 'exhaustive'; bound: number; limit?: number; cache?: boolean } | { kind: 'pct'; runs: number; seed: number; depth?: number };

export interface Cell {
  scenario: string;
  strategy: RaceStrategy;
  /** null: the strategy restores none of the objects of this scenario. */
  result: ExploreResult | null;
}

/** Explores one scenario with one strategy. */
/** What to explore for a scenario and strategy (null: the strategy restores nothing there). */
export function target(sc: Scenario, strategy: RaceStrategy): Explorable | null {
  if (sc.restore) {
    const cr = crStrategyFor(strategy);
    return cr === null ? null : { restore: prepareRestore(), strategy: cr };
  }
  const p = prepare(sc, strategy);
  return p.objs.length === 0 ? null : p;
}

export function exploreCell(sc: Scenario, strategy: RaceStrategy, mode: Mode): Cell {
  const p = target(sc, strategy);
  if (p === null) return { scenario: sc.name, strategy, result: null };
  const r = mode.kind === 'exhaustive' ? exhaustive(p, mode.bound, mode.limit, mode.cache ?? true) : pct(p, mode.runs, mode.seed, mode.depth);
  return { scenario: sc.name, strategy, result: { strategy, ...r } };
}

export function modeText(mode: Mode): string {
  return mode.kind === 'exhaustive' ? `--bound ${mode.bound}${mode.cache === false ? ' --no-cache' : ''}` : `--pct ${mode.runs} --seed ${mode.seed}`;
}

/** `violating/schedules` (with `+` when the schedule limit cut the search), or `n/a`. */
export function cellText(c: Cell): string {
  if (!c.result) return 'n/a';
  return `${c.result.violating}/${c.result.schedules}${c.result.truncated ? '+' : ''}`;
}

/** A markdown table: one row per strategy, one column per scenario. */
export function formatTable(cells: readonly Cell[]): string {
  const scenarios = [...new Set(cells.map((c) => c.scenario))];
  const strategies = [...new Set(cells.map((c) => c.strategy))];
  const rows = [['strategy', ...scenarios]];
  for (const st of strategies) {
    rows.push([STRATEGY_LABEL[st], ...scenarios.map((sc) => {
      const c = cells.find((x) => x.scenario === sc && x.strategy === st);
      return c ? cellText(c) : '';
    })]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((x, i) => x.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(rows[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n') + '\n';
}

/** The trace file of one schedule (schedule line, oracle verdict, strace-like lines). */
export function traceFile(scenario: string, strategy: RaceStrategy, decisions: readonly number[]): { text: string; outcome: RunOutcome } {
  const sc = findScenario(scenario);
  const p = target(sc, strategy);
  if (p === null) throw new Error(`${STRATEGY_LABEL[strategy]} restores nothing in scenario ${scenario}`);
  const out = runSchedule(p, decisions, { trace: true });
  const verdict = out.violations.length === 0 ? 'every object got its id' : out.violations.map(describeViolation).join('; ');
  const what = 'restore' in p ? `the c/r engine restores the container with --strategy ${p.strategy}` : `${STRATEGY_LABEL[strategy]} restores ${p.objs.map((o) => `${o.kind} ${o.want}`).join(', ')}`;
  const text = [
    `# schedule ${scenario} ${strategy} ${decisions.join(' ')}`.trimEnd(),
    `# ${sc.what}; ${what}`,
    `# ${out.preemptions} preemption(s), ${out.steps} steps; oracle: ${verdict}`,
    ...out.trace,
  ].join('\n') + '\n';
  return { text, outcome: out };
}

/** Parses the schedule line of a trace file. */
export function parseTraceFile(text: string): { scenario: string; strategy: RaceStrategy; decisions: number[] } {
  const line = text.split('\n').find((l) => l.startsWith('# schedule '));
  if (!line) throw new Error("no '# schedule SCENARIO STRATEGY DECISIONS…' line in the replay file");
  const [scenario, strategy, ...rest] = line.slice('# schedule '.length).trim().split(/\s+/);
  if (!scenario || !strategy) throw new Error(`bad schedule line '${line}'`);
  findScenario(scenario);
  const decisions = rest.map((d) => {
    if (!/^\d+$/.test(d)) throw new Error(`bad decision '${d}' in the schedule line (expected non-negative integers)`);
    return Number(d);
  });
  return { scenario, strategy: parseStrategy(strategy), decisions };
}

/** Strategies that can restore something in a scenario. */
export function strategiesFor(sc: Scenario, wanted: readonly RaceStrategy[]): RaceStrategy[] {
  if (sc.restore) return wanted.filter((st) => crStrategyFor(st) !== null);
  return wanted.filter((st) => STRATEGY_KINDS[st].some((k) => !sc.kinds || sc.kinds.includes(k)));
}

