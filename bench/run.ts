/**
 * `npm run bench`: every benchmark, one table, and bench/results.json.
 *
 *   node dist/bench/run.js [--quick] [--model-only] [--only=ipc,proc,scaling,cr,memory,host,migrate] [--out=FILE]
 *
 * --quick shrinks every repetition count and size (a smoke run; figures are not meaningful) and
 * writes no results file unless --out is given; --model-only skips the native side (its figures
 * are then reported as unavailable). A full run writes bench/results.json.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compare, type CompareCase, type CompareOptions } from './lib/compare.js';
import { unwatchGc, watchGc } from './lib/gc.js';
import { machine } from './lib/machine.js';
import { NativeServer } from './lib/native.js';
import { formatBytes, formatNs } from './lib/stats.js';
import { renderTable } from './lib/table.js';
import type { Comparison, CrFigure, MemoryFigure, Results, Scaling, TableRow, Verdict } from './lib/types.js';
import { IPC_CASES } from './suites/ipc.js';
import { PROC_CASES } from './suites/proc.js';
import { runScaling, SCALING_CASES, type ScalingOptions } from './suites/scaling.js';
import { CR_SCENARIOS, runCr, STRATEGIES, type CrOptions } from './suites/cr.js';
import { runCrHugepages } from './cr-child.js';
import { measureMemory, MEMORY_CASES } from './suites/memory.js';
import { runHost } from './suites/host.js';
import { MIGRATE_FULL, MIGRATE_QUICK, runMigrate, streamThroughput, type MigrateFigure } from './suites/migrate.js';

export const SECTIONS = ['ipc', 'proc', 'scaling', 'cr', 'memory', 'host', 'migrate'] as const;
export type Section = (typeof SECTIONS)[number];

export interface BenchOptions {
  quick: boolean;
  modelOnly: boolean;
  only: readonly Section[];
  /** Progress lines (to stderr by default). */
  log: (line: string) => void;
}

function compareOptions(quick: boolean): CompareOptions {
  return quick ? { reps: 2, warmup: 1, repNs: 5e6, warmNs: 5e6 } : { reps: 7, warmup: 2, repNs: 40e6, warmNs: 200e6 };
}

function comparisonRow(section: string, c: Comparison): TableRow {
  return {
    section,
    name: c.label,
    model: `${formatNs(c.modelNsPerOp)}/op (cold first op ${formatNs(c.modelColdNs)})`,
    native: c.nativeNsPerOp === null ? `unavailable` : `${formatNs(c.nativeNsPerOp)}/op`,
    ratio: c.ratio === null ? '—' : `${c.ratio.toFixed(2)}×`,
    target: c.targetRatio === null ? '' : `≥ ${c.targetRatio}×`,
    verdict: c.verdict,
  };
}

function scalingOptions(quick: boolean): ScalingOptions {
  return quick ? { reps: 1, warmup: 1, shrink: 64 } : { reps: 5, warmup: 2, shrink: 1 };
}

function scalingRow(s: Scaling): TableRow {
  return {
    section: 'scaling',
    name: s.label,
    model: s.points.map((p) => `N=${p.n}: ${formatNs(p.nsPerOp)} (GC ${(p.gcShare * 100).toFixed(0)}%)`).join(', ') + `; growth ${s.growth.toFixed(2)}×`,
    native: `control growth ${s.controlGrowth.toFixed(2)}× (GC ${s.controlPoints.map((p) => (p.gcShare * 100).toFixed(0) + '%').join('→')})`,
    ratio: `${s.excess.toFixed(2)}× control`,
    target: `≤ ${s.targetExcess}× control`,
    verdict: s.verdict,
  };
}

function crOptions(quick: boolean): CrOptions {
  return quick ? { reps: 1, warmup: 0, shrink: 50 } : { reps: 3, warmup: 1, shrink: 1 };
}

function fmtMs(ms: number | null): string {
  return ms === null ? '—' : `${ms.toPrecision(3)} ms`;
}

function crRow(f: CrFigure): TableRow {
  const worst: Verdict = f.targets.length === 0 ? 'n/a' : f.targets.every((t) => t.verdict === 'met') ? 'met' : 'missed';
  const mb = (v: number | null) => (v === null ? '—' : `${v.toPrecision(3)} MB/s`);
  return {
    section: 'c/r',
    name: `${f.label} [${f.strategy}]`,
    model: f.error
      ? `failed: ${f.error}`
      : `dump ${fmtMs(f.dumpMs)} (${mb(f.dumpMBps)}), restore ${fmtMs(f.restoreMs)} (${mb(f.restoreMBps)}), image ${formatBytes(f.imageBytes)}`,
    native: '',
    ratio: '',
    target: f.targets.map((t) => `${t.what} ${t.limit}`).join(', '),
    verdict: f.error ? 'missed' : worst,
  };
}

function memoryRow(m: MemoryFigure): TableRow {
  return {
    section: 'memory',
    name: `${m.label}, N=${m.n}`,
    model: `heap ${formatBytes(m.heapBytesPerUnit)}, RSS ${formatBytes(m.rssBytesPerUnit)}`,
    native: '',
    ratio: '',
    target: '',
    verdict: 'n/a',
  };
}

async function compareAll(cases: CompareCase[], native: NativeServer | string, opt: CompareOptions, log: (l: string) => void): Promise<Comparison[]> {
  const out: Comparison[] = [];
  for (const c of cases) {
    const r = await compare(c, native, opt);
    log(`  ${c.label}: model ${formatNs(r.modelNsPerOp)}, native ${r.nativeNsPerOp === null ? `unavailable (${r.nativeUnavailable})` : formatNs(r.nativeNsPerOp)}`);
    out.push(r);
  }
  return out;
}

/** Runs the selected sections and returns everything measured (nothing is written). */
export async function runBenchmarks(opts: BenchOptions): Promise<Results> {
  const t0 = Date.now();
  const log = opts.log;
  const results: Results = {
    date: new Date().toISOString(),
    command: `node dist/bench/run.js${opts.quick ? ' --quick' : ''}${opts.modelOnly ? ' --model-only' : ''}`,
    quick: opts.quick,
    durationS: 0,
    machine: machine(),
    loadAvgEnd: [],
    ipc: [],
    proc: [],
    scaling: [],
    cr: [],
    memory: [],
    table: [],
  };
  const wantsNative = opts.only.includes('ipc') || opts.only.includes('proc');
  const native: NativeServer | string = !wantsNative ? 'not needed' : opts.modelOnly ? 'skipped (--model-only)' : await NativeServer.start();
  if (typeof native === 'string' && wantsNative) log(`native side unavailable: ${native}`);
  try {
    const copt = compareOptions(opts.quick);
    if (opts.only.includes('ipc')) {
      log('1. SysV IPC, model vs native');
      results.ipc = await compareAll(IPC_CASES, native, copt, log);
      results.table.push(...results.ipc.map((c) => comparisonRow('ipc', c)));
    }
    if (opts.only.includes('proc')) {
      log('2. processes and files, model vs native');
      results.proc = await compareAll(PROC_CASES, native, copt, log);
      results.table.push(...results.proc.map((c) => comparisonRow('proc', c)));
    }
  } finally {
    if (typeof native !== 'string') await native.stop();
  }
  if (opts.only.includes('scaling')) {
    log('3. scaling');
    watchGc();
    for (const c of SCALING_CASES) {
      const r = await runScaling(c, scalingOptions(opts.quick));
      log(`  ${c.label}: ${r.points.map((p) => `N=${p.n} ${formatNs(p.nsPerOp)}`).join(', ')}; growth ${r.growth.toFixed(2)}×, control ${r.controlGrowth.toFixed(2)}×, excess ${r.excess.toFixed(2)}×`);
      results.scaling.push(r);
      results.table.push(scalingRow(r));
    }
    unwatchGc();
  }
  if (opts.only.includes('cr')) {
    log('4. checkpoint/restart');
    const copt = crOptions(opts.quick);
    // JIT warm-up over every scenario and strategy, on containers a tenth of the size.
    if (!opts.quick) for (const sc of CR_SCENARIOS) for (const st of sc.strategies ?? STRATEGIES) runCr(sc, st, { reps: 1, warmup: 0, shrink: 10 });
    for (const sc of CR_SCENARIOS) {
      for (const st of sc.strategies ?? STRATEGIES) {
        const f = runCr(sc, st, copt);
        log(`  ${f.label} [${st}]: ${f.error ?? `dump ${fmtMs(f.dumpMs)}, restore ${fmtMs(f.restoreMs)}`}`);
        results.cr.push(f);
        results.table.push(crRow(f));
      }
    }
    // Large memory with huge pages for malloc (what `nsd dump`/`restore` do, src/cli/hugepages.ts):
    // the 256 MiB rows again in a child started with GLIBC_TUNABLES=glibc.malloc.hugetlb=1.
    for (const id of ['big-shm', 'big-shm-zero-copy']) {
      const f = runCrHugepages(id, 'nsd', copt);
      log(`  ${f.label} [nsd]: ${f.error ?? `dump ${fmtMs(f.dumpMs)}, restore ${fmtMs(f.restoreMs)}`}`);
      results.cr.push(f);
      results.table.push(crRow(f));
    }
  }
  if (opts.only.includes('memory')) {
    log('5. memory');
    for (const c of MEMORY_CASES) {
      const m = measureMemory(c.unit, c.label, opts.quick ? Math.ceil(c.n / 64) : c.n);
      log(`  ${m.label}: heap ${formatBytes(m.heapBytesPerUnit)}, RSS ${formatBytes(m.rssBytesPerUnit)}`);
      results.memory.push(m);
      results.table.push(memoryRow(m));
    }
  }
  if (opts.only.includes('host') && !opts.modelOnly) {
    log('6. host backend (real kernel)');
    const f = await runHost(opts.quick ? { reps: 1, shrink: 20 } : { reps: 5, shrink: 1 });
    // Ours over CRIU's (below 1 is faster), for the dump and the restore.
    const times = (v: number | null, criu: number): string => (v === null ? 'n/a' : `×${(v / criu).toFixed(2)}`);
    const ratio = `dump ${times(f.dumpMs, f.criuDumpMs)}, restore ${times(f.restoreMs, f.criuRestoreMs)} of CRIU 4.2`;
    log(`  ${f.label}: ${f.error ?? `dump ${fmtMs(f.dumpMs)} (CPU ${fmtMs(f.dumpCpuMs)}), restore ${fmtMs(f.restoreMs)} (CPU ${fmtMs(f.restoreCpuMs)}), verify ${fmtMs(f.verifyMs)}; ${ratio}`}`);
    const met = (v: number | null, lim: number): boolean => v !== null && v < lim;
    results.host = [f];
    results.table.push({
      section: 'host',
      name: f.label,
      model: f.error ? f.error : `dump ${fmtMs(f.dumpMs)} (CPU ${fmtMs(f.dumpCpuMs)}), restore ${fmtMs(f.restoreMs)} (CPU ${fmtMs(f.restoreCpuMs)}, ${f.ops} ops; verify ${fmtMs(f.verifyMs)}), image ${formatBytes(f.imageBytes ?? 0)}`,
      native: `CRIU 4.2: dump ~${f.criuDumpMs} ms, restore ~${f.criuRestoreMs} ms`,
      ratio: f.error ? '' : ratio,
      target: `< CRIU both ways`,
      verdict: f.error ? 'n/a' : met(f.dumpMs, f.criuDumpMs) && met(f.restoreMs, f.criuRestoreMs) ? 'met' : 'missed',
    });
  }
  if (opts.only.includes('migrate')) {
    log('7. migration over the page-server stream');
    const mo = opts.quick ? MIGRATE_QUICK : MIGRATE_FULL;
    const figs: MigrateFigure[] = [];
    for (const mode of ['cold', 'pre-copy', 'lazy'] as const) {
      const f = await runMigrate(mode, mo);
      log(`  ${mode}: ${f.error ?? `downtime ${fmtMs(f.downtimeMs)}, total ${fmtMs(f.totalMs)}, rounds ${f.rounds.map((r) => r.pages).join('/') || '-'}, final ${f.finalPages} pages`}`);
      figs.push(f);
    }
    const [cold, pre] = figs as [MigrateFigure, MigrateFigure, MigrateFigure];
    for (const f of figs) {
      const ratio = f.mode !== 'cold' && cold.downtimeMs && f.downtimeMs ? f.downtimeMs / cold.downtimeMs : null;
      results.table.push({
        section: 'migrate',
        name: `${f.memMiB} MiB, ${f.mode}`,
        model: f.error ? `failed: ${f.error}` : `downtime ${fmtMs(f.downtimeMs)}, total ${fmtMs(f.totalMs)}, freeze ${fmtMs(f.freezeMs)}, pages/round ${[...f.rounds.map((r) => r.pages), f.finalPages].join('/')}${f.lazyMs !== undefined ? ` (lazy: all in B ${fmtMs(f.lazyMs)} after it ran, ${f.lazyGets} GETs)` : ''}, ${formatBytes(f.wireBytes ?? 0)} on the wire`,
        native: '',
        ratio: ratio === null ? '' : `${ratio.toFixed(2)}× cold`,
        target: f.mode === 'pre-copy' ? 'downtime ≤ 0.1× cold' : '',
        verdict: f.mode !== 'pre-copy' ? 'n/a' : ratio !== null && ratio <= 0.1 ? 'met' : 'missed',
      });
    }
    const tp = await streamThroughput(mo.streamMiB).catch((e: Error) => e);
    results.table.push({
      section: 'migrate',
      name: `stream, ${mo.streamMiB} MiB of ADD frames over loopback into nsd page-server`,
      model: tp instanceof Error ? `failed: ${tp.message}` : `${tp.MBps.toPrecision(3)} MB/s`,
      native: '',
      ratio: '',
      target: '≥ 1000 MB/s',
      verdict: !(tp instanceof Error) && tp.MBps >= 1000 ? 'met' : 'missed',
    });
    (results as Results & { migrate?: unknown }).migrate = { figures: figs, stream: tp instanceof Error ? { error: tp.message } : tp, cold: cold.downtimeMs, preCopy: pre.downtimeMs };
  }
  results.durationS = (Date.now() - t0) / 1000;
  results.loadAvgEnd = machine().loadAvg;
  return results;
}

function parseArgs(argv: string[]): BenchOptions & { out: string | null } {
  const quick = argv.includes('--quick');
  const onlyArg = argv.find((a) => a.startsWith('--only='));
  const only = onlyArg ? (onlyArg.slice(7).split(',') as Section[]) : [...SECTIONS];
  for (const s of only) if (!SECTIONS.includes(s)) throw new Error(`unknown section ${s} (have: ${SECTIONS.join(', ')})`);
  const outArg = argv.find((a) => a.startsWith('--out='));
  const here = dirname(fileURLToPath(import.meta.url));
  const defaultOut = join(here, '..', '..', 'bench', 'results.json');
  const out = outArg ? outArg.slice(6) : quick || onlyArg ? null : defaultOut;
  return { quick, modelOnly: argv.includes('--model-only'), only, out, log: (l) => process.stderr.write(`${l}\n`) };
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const r = await runBenchmarks(opts);
  const m = r.machine;
  if (r.quick) process.stdout.write('quick mode: sizes and repetitions are cut down; the figures are not meaningful\n\n');
  process.stdout.write(`${renderTable(r.table)}\n\n`);
  process.stdout.write(`${m.cpu}, ${m.cores} cores, ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB, Linux ${m.kernel}, Node ${m.node}; ${r.date}; ${r.durationS.toFixed(0)} s; load average ${m.loadAvg[0]} at the start, ${r.loadAvgEnd[0]} at the end\n`);
  if (opts.out) {
    writeFileSync(opts.out, `${JSON.stringify(r, null, 2)}\n`);
    process.stdout.write(`wrote ${opts.out}\n`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exit(1);
  });
}
