/**
 * `nsd races [SCENARIO] [--strategy S] [--bound K | --pct N --seed S] [--replay FILE] [--save DIR]`:
 * the race explorer (src/races, docs/races.md). For each scenario and strategy it prints the
 * schedules explored and those where an armed value was stolen or an id came out wrong, then the
 * shortest such schedule as a replayable trace (with one SCENARIO; all of them with --traces),
 * and the strategy × scenario table.
 */
import { Command, InvalidArgumentError } from 'commander';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  RACE_STRATEGIES, SCENARIOS, STRATEGY_LABEL, cellText, exploreCell, findScenario, formatTable, modeText, parseStrategy,
  parseTraceFile, strategiesFor, traceFile, type Cell, type Mode, type RaceStrategy,
} from '../races/index.js';
import type { CrCommandIo } from './cr-commands.js';

const PROCESS_IO: CrCommandIo = {
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => void process.stderr.write(t),
  exit: (s) => {
    process.exitCode = s;
  },
};

function nonNegative(name: string) {
  return (v: string): number => {
    if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`${name} must be a non-negative integer`);
    return Number(v);
  };
}

interface RacesFlags {
  strategy?: string[];
  bound?: number;
  pct?: number;
  seed?: number;
  depth?: number;
  limit: number;
  cache: boolean;
  replay?: string;
  save?: string;
  traces?: boolean;
}

export function racesMain(scenario: string | undefined, f: RacesFlags, io: CrCommandIo = PROCESS_IO): void {
  if (f.replay !== undefined) {
    let text: string;
    try {
      text = readFileSync(f.replay, 'utf8');
    } catch (e) {
      throw new Error(`cannot read replay file ${f.replay}: ${(e as Error).message}`);
    }
    const s = parseTraceFile(text);
    io.stdout(traceFile(s.scenario, s.strategy, s.decisions).text);
    return;
  }
  if (f.pct !== undefined && f.bound !== undefined) throw new Error('--bound and --pct exclude each other');
  if (f.pct === undefined && (f.seed !== undefined || f.depth !== undefined)) throw new Error('--seed and --depth go with --pct');
  const mode: Mode = f.pct !== undefined ? { kind: 'pct', runs: f.pct, seed: f.seed ?? 1, depth: f.depth } : { kind: 'exhaustive', bound: f.bound ?? 1, limit: f.limit, cache: f.cache };
  const scenarios = scenario === undefined ? [...SCENARIOS] : [findScenario(scenario)];
  const wanted: RaceStrategy[] = f.strategy?.length ? f.strategy.map(parseStrategy) : [...RACE_STRATEGIES];
  const cells: Cell[] = [];
  const traces = f.traces === true || scenario !== undefined;
  io.stdout(`# nsd races ${scenario ?? ''} ${modeText(mode)}: violating/explored schedules (a value stolen or an id wrong)\n`);
  for (const sc of scenarios) {
    io.stdout(`\n## ${sc.name}: ${sc.what}\n`);
    for (const st of wanted) {
      const c = strategiesFor(sc, [st]).length === 0 ? { scenario: sc.name, strategy: st, result: null } : exploreCell(sc, st, mode);
      cells.push(c);
      const r = c.result;
      const extra = r ? `${mode.kind === 'exhaustive' && r.states > 0 ? `, ${r.states} states, ${r.pruned} runs pruned at a cached state` : ''}${r.truncated ? `, stopped at --limit ${f.limit}` : ''}` : ' (restores nothing here)';
      io.stdout(`${STRATEGY_LABEL[st].padEnd(12)} ${cellText(c).padStart(9)}${extra}\n`);
      for (const [what, n] of Object.entries(r?.classes ?? {}).sort((a, b) => b[1] - a[1])) io.stdout(`  ${String(n).padStart(6)} × ${what}\n`);
      if (!r?.shortest) continue;
      const { text } = traceFile(sc.name, st, r.shortest.decisions);
      if (f.save !== undefined) {
        mkdirSync(f.save, { recursive: true });
        const file = join(f.save, `${sc.name}-${st}.trace`);
        writeFileSync(file, text);
        io.stdout(`  shortest violating schedule saved to ${file} (nsd races --replay ${file})\n`);
      }
      if (traces) io.stdout(text.trimEnd().replace(/^/gm, '  ') + '\n');
    }
  }
  io.stdout(`\n${formatTable(cells)}`);
}

export function addRacesCommands(program: Command, io: CrCommandIo = PROCESS_IO): void {
  program
    .command('races')
    .description('explore schedules of the race scenarios and count stolen ids per strategy (docs/races.md)')
    .argument('[scenario]', `one of: ${SCENARIOS.map((s) => s.name).join(', ')} (default: all)`)
    .option('--strategy <s>', `nsd, with-id, ns_last_pid, set_tid or *_next_id (repeatable; default: all)`, (v: string, acc: string[] = []) => [...acc, v])
    .option('--bound <k>', 'exhaustive search with at most K preemptions (default 1)', nonNegative('--bound'))
    .option('--pct <n>', 'instead: N PCT runs', nonNegative('--pct'))
    .option('--seed <s>', 'first PCT seed (run i uses S+i; default 1)', nonNegative('--seed'))
    .option('--depth <d>', 'PCT bug depth (default 3)', nonNegative('--depth'))
    .option('--limit <n>', 'at most N runs per cell in exhaustive search', nonNegative('--limit'), 20000)
    .option('--no-cache', 'exhaustive search without the state cache: every schedule run to its end')
    .option('--traces', 'print the shortest violating trace of every cell (default: only with one SCENARIO)')
    .option('--save <dir>', 'write each shortest violating trace to DIR/SCENARIO-STRATEGY.trace')
    .option('--replay <file>', 'run the schedule of a saved trace again and print its trace')
    .action((scenario: string | undefined, f: RacesFlags) => {
      try {
        racesMain(scenario, f, io);
      } catch (e) {
        io.stderr(`nsd races: ${e instanceof Error ? e.message : String(e)}\n`);
        io.exit(2);
      }
    });
}
