/**
 * Profiling aid for a missed target: runs one model case in a loop, or summarises a profile.
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof dist/bench/profile.js run <case-id> [seconds]
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof dist/bench/profile.js scale <case-id> <N> [cycles]
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof dist/bench/profile.js cr <scenario-id> <strategy> [reps]
 *   node dist/bench/profile.js top /tmp/prof/<file>.cpuprofile [rows]
 *
 *   node dist/bench/profile.js inclusive /tmp/prof/<file>.cpuprofile [rows] [path-prefix]
 *
 * `top` prints self time per function (file:line) and its hottest lines; `inclusive` the time
 * with each function anywhere on the stack. These are the hot spots quoted in docs/performance.md.
 */
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CompareCase } from './lib/compare.js';
import { nowNs } from './lib/stats.js';
import { IPC_CASES } from './suites/ipc.js';
import { PROC_CASES } from './suites/proc.js';
import { SCALING_CASES } from './suites/scaling.js';
import { CR_SCENARIOS, runCr, STRATEGIES } from './suites/cr.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
  /** Samples per source line of the function (1-based lines of the compiled file). */
  positionTicks?: { line: number; ticks: number }[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
}

const maps = new Map<string, SourceMap | null>();

/** `file:line` of a profile frame, in the TypeScript source when the compiled file has a source map. */
function location(f: ProfileNode['callFrame'], line = f.lineNumber, column = f.columnNumber): string {
  if (!f.url.startsWith('file:')) return f.url || '(native)';
  const js = fileURLToPath(f.url);
  if (!maps.has(js)) {
    const mapFile = `${js}.map`;
    maps.set(js, existsSync(mapFile) ? new SourceMap(JSON.parse(readFileSync(mapFile, 'utf8'))) : null);
  }
  const entry = maps.get(js)?.findEntry(line, column);
  if (entry && 'originalSource' in entry && entry.originalSource) {
    const src = entry.originalSource.startsWith('file:') ? fileURLToPath(entry.originalSource) : resolve(dirname(js), entry.originalSource);
    return `${relative(process.cwd(), src)}:${entry.originalLine + 1}`;
  }
  return `${relative(process.cwd(), js)}:${line + 1}`;
}

/**
 * Inclusive share per function (time with it anywhere on the stack), highest first, limited to
 * functions defined under `under` (e.g. `src/cr`).
 */
export function inclusiveFunctions(profile: CpuProfile, rows: number, under: string): { where: string; fn: string; share: number }[] {
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const total = new Map<string, { fn: string; hits: number }>();
  for (const id of profile.samples) {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = byNode.get(at)!.callFrame;
      const where = location(f);
      if (seen.has(where) || !where.startsWith(under)) continue;
      seen.add(where);
      const e = total.get(where) ?? { fn: f.functionName || '(anonymous)', hits: 0 };
      e.hits++;
      total.set(where, e);
    }
  }
  return [...total.entries()]
    .sort((a, b) => b[1].hits - a[1].hits)
    .slice(0, rows)
    .map(([where, e]) => ({ where, fn: e.fn, share: e.hits / profile.samples.length }));
}

/** A hot function: self-time share, and its hottest source lines. */
export interface HotSpot {
  where: string;
  fn: string;
  share: number;
  lines: { where: string; share: number }[];
}

/** Self-time share per function, highest first, with the lines that take the time. */
export function topFunctions(profile: CpuProfile, rows: number): HotSpot[] {
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, { fn: string; hits: number; lines: Map<string, number> }>();
  for (const id of profile.samples) {
    const node = byNode.get(id)!;
    const f = node.callFrame;
    const where = location(f);
    let e = self.get(where);
    if (!e) self.set(where, (e = { fn: f.functionName || '(anonymous)', hits: 0, lines: new Map() }));
    e.hits++;
  }
  // Line-level ticks, summed over every node of the same function.
  for (const node of profile.nodes) {
    const e = self.get(location(node.callFrame));
    for (const p of node.positionTicks ?? []) {
      const at = location(node.callFrame, p.line - 1, 0);
      e?.lines.set(at, (e.lines.get(at) ?? 0) + p.ticks);
    }
  }
  const total = profile.samples.length;
  return [...self.entries()]
    .sort((a, b) => b[1].hits - a[1].hits)
    .slice(0, rows)
    .map(([where, e]) => ({
      where,
      fn: e.fn,
      share: e.hits / total,
      lines: [...e.lines].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([at, ticks]) => ({ where: at, share: ticks / total })),
    }));
}

function runCase(c: CompareCase, seconds: number): void {
  const end = nowNs() + seconds * 1e9;
  let ops = 0;
  const t0 = nowNs();
  while (nowNs() < end) {
    c.model(10000)();
    ops += 10000;
  }
  process.stdout.write(`${c.id}: ${ops} ops, ${((nowNs() - t0) / ops).toFixed(0)} ns/op (set-up included)\n`);
}

function main(argv: string[]): void {
  const [cmd, arg, extra] = argv;
  if (cmd === 'run' && arg) {
    const c = [...IPC_CASES, ...PROC_CASES].find((x) => x.id === arg);
    if (!c) throw new Error(`no case ${arg}`);
    runCase(c, Number(extra ?? 3));
  } else if (cmd === 'scale' && arg && extra) {
    const c = SCALING_CASES.find((x) => x.id === arg);
    if (!c) throw new Error(`no scaling case ${arg}`);
    const n = Number(extra);
    const cycles = Number(argv[3] ?? 3);
    const k = c.setup(n);
    const t0 = nowNs();
    for (let i = 0; i < cycles; i++) c.cycle(k, n);
    process.stdout.write(`${c.id} N=${n}: ${((nowNs() - t0) / (cycles * n)).toFixed(0)} ns/op\n`);
  } else if (cmd === 'cr' && arg && extra) {
    const sc = CR_SCENARIOS.find((x) => x.id === arg);
    const strategy = STRATEGIES.find((x) => x === extra);
    if (!sc || !strategy) throw new Error(`no scenario ${arg} or strategy ${extra}`);
    const f = runCr(sc, strategy, { reps: Number(argv[3] ?? 3), warmup: 1, shrink: 1 });
    process.stdout.write(`${sc.id} [${strategy}]: ${JSON.stringify({ dump: f.dumpOnlyMs, write: f.writeMs, read: f.readMs, restore: f.restoreOnlyMs, error: f.error })}\n`);
  } else if (cmd === 'top' && arg) {
    const profile = JSON.parse(readFileSync(arg, 'utf8')) as CpuProfile;
    for (const r of topFunctions(profile, Number(extra ?? 15))) {
      process.stdout.write(`${(r.share * 100).toFixed(1).padStart(5)}%  ${r.fn}  ${r.where}\n`);
      for (const l of r.lines) process.stdout.write(`         ${(l.share * 100).toFixed(1).padStart(5)}%  ${l.where}\n`);
    }
  } else if (cmd === 'inclusive' && arg) {
    const profile = JSON.parse(readFileSync(arg, 'utf8')) as CpuProfile;
    for (const r of inclusiveFunctions(profile, Number(extra ?? 25), argv[3] ?? 'src/')) {
      process.stdout.write(`${(r.share * 100).toFixed(1).padStart(5)}%  ${r.fn}  ${r.where}\n`);
    }
  } else {
    process.stderr.write('usage: profile.js run <case-id> [seconds] | scale <case-id> <N> [cycles] | cr <scenario> <strategy> [reps] | top|inclusive <file.cpuprofile> [rows] [prefix]\n');
    process.exit(2);
  }
}

main(process.argv.slice(2));
