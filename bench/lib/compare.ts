/**
 * Model vs native, alternating: each side is first warmed (the model loop runs until it has spent
 * `warmNs` of wall time, so V8 has optimised the whole path before anything is measured), then
 * calibrated to about the same wall time per repetition; repetitions run model, native, model,
 * native…; the first `warmup` of each side are discarded and the medians of the rest are compared.
 * The cost of the very first model operation (cold code, before any warm-up) is reported apart.
 */
import { calibrate, median, nowNs } from './stats.js';
import type { NativeServer } from './native.js';
import type { Comparison, Verdict } from './types.js';

/** One operation measured on both sides. */
export interface CompareCase {
  id: string;
  label: string;
  /** The op name in bench/native/ops.c. */
  native: string;
  /**
   * Builds what the timed loop needs (outside the timing) and returns the loop: it runs
   * `iters` operations on the model.
   */
  model: (iters: number) => () => void;
  /** Minimum native÷model ratio wanted (null: only reported). */
  targetRatio: number | null;
}

export interface CompareOptions {
  reps: number;
  warmup: number;
  /** Target wall time of one repetition (ns). */
  repNs: number;
  /** Wall time spent running the model loop before calibrating (ns); default 4 × repNs. */
  warmNs?: number;
}

/** Times `iters` model operations once (set-up excluded). */
function timeModel(c: CompareCase, iters: number): number {
  const loop = c.model(iters);
  const t0 = nowNs();
  loop();
  return nowNs() - t0;
}

/**
 * Runs the model loop in growing batches until `warmNs` of wall time has gone into it. Calibrating
 * on cold code sizes the repetitions from interpreter speed (the first published msgsnd+msgrcv
 * figure, 1.00 µs, was such an artefact; steady state is several times faster).
 */
function warmModel(c: CompareCase, warmNs: number): void {
  let spent = 0;
  for (let iters = 16; spent < warmNs; iters = Math.min(iters * 2, 1 << 20)) spent += timeModel(c, iters);
}

export async function compare(c: CompareCase, native: NativeServer | string, opt: CompareOptions): Promise<Comparison> {
  const modelColdNs = timeModel(c, 1);
  warmModel(c, opt.warmNs ?? 4 * opt.repNs);
  const modelIters = await calibrate(async (n) => timeModel(c, n), opt.repNs);
  let nativeUnavailable: string | null = typeof native === 'string' ? native : null;
  let nativeIters = 0;
  if (typeof native !== 'string') {
    const probe = await native.run(c.native, 1);
    if (!probe.ok) nativeUnavailable = probe.reason;
    else {
      nativeIters = await calibrate(async (n) => {
        const r = await native.run(c.native, n);
        if (!r.ok) throw new Error(`native ${c.native}: ${r.reason}`);
        return r.ns;
      }, opt.repNs);
    }
  }
  const modelRepsNs: number[] = [];
  const nativeRepsNs: number[] = [];
  for (let rep = 0; rep < opt.warmup + opt.reps; rep++) {
    const m = timeModel(c, modelIters) / modelIters;
    if (rep >= opt.warmup) modelRepsNs.push(m);
    if (nativeUnavailable === null && typeof native !== 'string') {
      const r = await native.run(c.native, nativeIters);
      if (!r.ok) nativeUnavailable = r.reason;
      else if (rep >= opt.warmup) nativeRepsNs.push(r.ns / nativeIters);
    }
  }
  const modelNsPerOp = median(modelRepsNs);
  const nativeNsPerOp = nativeUnavailable === null ? median(nativeRepsNs) : null;
  const ratio = nativeNsPerOp === null ? null : nativeNsPerOp / modelNsPerOp;
  let verdict: Verdict = 'n/a';
  if (c.targetRatio !== null && ratio !== null) verdict = ratio >= c.targetRatio ? 'met' : 'missed';
  return {
    id: c.id, label: c.label, modelNsPerOp, modelRepsNs, modelIters, modelColdNs, nativeNsPerOp, nativeRepsNs, nativeIters,
    nativeUnavailable, ratio, targetRatio: c.targetRatio, verdict,
  };
}
