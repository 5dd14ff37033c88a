/**
 * Timing and statistics for the benchmarks: a monotonic clock, medians, and the calibration that
 * sizes a repetition to a target wall time.
 */

/** Nanoseconds from a monotonic clock. */
export function nowNs(): number {
  return Number(process.hrtime.bigint());
}

/** Median of a non-empty list (the mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * The iteration count that makes one repetition last about `targetNs`, found by doubling from 1
 * with `timeNs(iters)` (wall time of one batch). Never below 1 or above `max`.
 */
export async function calibrate(timeNs: (iters: number) => Promise<number>, targetNs: number, max = 1 << 26): Promise<number> {
  let iters = 1;
  for (;;) {
    const t = await timeNs(iters);
    if (t >= targetNs / 4 || iters >= max) {
      const per = Math.max(t, 1) / iters;
      return Math.max(1, Math.min(max, Math.round(targetNs / per)));
    }
    iters *= 4;
  }
}

/** Formats nanoseconds per operation for the table (ns, µs or ms, three significant digits). */
export function formatNs(ns: number | null): string {
  if (ns === null || !Number.isFinite(ns)) return '—';
  if (ns < 1e3) return `${ns.toPrecision(3)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toPrecision(3)} µs`;
  if (ns < 1e9) return `${(ns / 1e6).toPrecision(3)} ms`;
  return `${(ns / 1e9).toPrecision(3)} s`;
}

/** Formats a byte count (B, KiB, MiB). */
export function formatBytes(b: number | null): string {
  if (b === null || !Number.isFinite(b)) return '—';
  if (Math.abs(b) < 1024) return `${Math.round(b)} B`;
  if (Math.abs(b) < 1 << 20) return `${(b / 1024).toPrecision(3)} KiB`;
  return `${(b / (1 << 20)).toPrecision(3)} MiB`;
}
