/**
 * Garbage-collection time inside a timed window, from perf_hooks' `gc` entries (their times are
 * on the performance.now() timeline). Entries arrive asynchronously: call `gcMsBetween` after
 * letting a timer run.
 */
import { performance, PerformanceObserver } from 'node:perf_hooks';

const entries: { start: number; duration: number }[] = [];
let observer: PerformanceObserver | null = null;

/** Starts recording GC pauses (idempotent). */
export function watchGc(): void {
  if (observer) return;
  observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) entries.push({ start: e.startTime, duration: e.duration });
    if (entries.length > 100_000) entries.splice(0, entries.length - 10_000);
  });
  observer.observe({ entryTypes: ['gc'] });
}

/** Stops recording. */
export function unwatchGc(): void {
  observer?.disconnect();
  observer = null;
}

/** performance.now() in ms, the timeline GC entries use. */
export function perfNowMs(): number {
  return performance.now();
}

/** Milliseconds of GC pauses that started within [fromMs, toMs], once pending entries are delivered (after a short timer). */
export async function gcMsBetween(fromMs: number, toMs: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 5));
  let ms = 0;
  for (const e of entries) if (e.start >= fromMs && e.start <= toMs) ms += e.duration;
  return ms;
}
