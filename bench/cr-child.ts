/**
 * One c/r scenario in a fresh process (spawned by bench/run.ts to measure the large-memory rows
 * with `GLIBC_TUNABLES=glibc.malloc.hugetlb=1`, which only takes effect at process start):
 *
 *   node dist/bench/cr-child.js <scenario id> <strategy> <reps> <warmup> <shrink>
 *
 * Prints the CrFigure as one JSON line.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CR_SCENARIOS, runCr, type CrOptions } from './suites/cr.js';
import type { StrategyName } from '../src/cr/index.js';
import type { CrFigure } from './lib/types.js';

export const HUGETLB = 'glibc.malloc.hugetlb=1';

/** Runs `id` with `strategy` in a child whose malloc uses huge pages; the figure, labelled so. */
export function runCrHugepages(id: string, strategy: StrategyName, opt: CrOptions): CrFigure {
  const child = join(dirname(fileURLToPath(import.meta.url)), 'cr-child.js');
  const env = { ...process.env, GLIBC_TUNABLES: process.env['GLIBC_TUNABLES'] ? `${process.env['GLIBC_TUNABLES']}:${HUGETLB}` : HUGETLB };
  const r = spawnSync(process.execPath, [child, id, strategy, String(opt.reps), String(opt.warmup), String(opt.shrink)], { encoding: 'utf8', env, maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`cr-child ${id} failed: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`);
  const f = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as CrFigure;
  return { ...f, id: `${f.id}+hugetlb`, label: `${f.label}, ${HUGETLB}` };
}

function main(): void {
  const [id, strategy, reps, warmup, shrink] = process.argv.slice(2);
  const sc = CR_SCENARIOS.find((s) => s.id === id);
  if (!sc || !strategy) throw new Error(`usage: cr-child.js <${CR_SCENARIOS.map((s) => s.id).join('|')}> <strategy> <reps> <warmup> <shrink>`);
  // JIT warm-up on a tenth, as the parent does.
  if (Number(shrink) === 1) runCr(sc, strategy as StrategyName, { reps: 1, warmup: 0, shrink: 10 });
  const f = runCr(sc, strategy as StrategyName, { reps: Number(reps), warmup: Number(warmup), shrink: Number(shrink) });
  process.stdout.write(`${JSON.stringify(f)}\n`);
}

if (process.argv[1]?.endsWith('cr-child.js')) main();
