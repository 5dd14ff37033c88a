/**
 * Design note: the kernel's derived scheduling indexes (wait queues in sleep order, timers in
 * arming order, run-queue membership) decide who runs first after a wake-up, so a checkpoint must
 * read them and a rollback must put them back exactly; `Kernel.rebuildIndexes` would rebuild them
 * in kid order and lose that order. This is the one place that reaches into those protected fields.
 */
import type { Kernel } from '../syscalls/kernel.js';

interface Indexes {
  waiters: Map<string, Set<number>>;
  timed: Set<number>;
  queued: Set<number>;
}

function idx(k: Kernel): Indexes {
  return k as unknown as Indexes;
}

/** Sleepers per wait channel, in sleep order. */
export function waitQueues(k: Kernel): Map<string, Set<number>> {
  return idx(k).waiters;
}

/** Tasks with a deadline, in the order they were armed (the order equal deadlines fire in). */
export function timers(k: Kernel): Set<number> {
  return idx(k).timed;
}

/** Replaces the run queue (and its membership index) without touching the wait queues. */
export function setRunQueue(k: Kernel, runq: number[]): void {
  k.s.runq = runq;
  idx(k).queued = new Set(runq);
}

/** A copy of the derived indexes, for an exact rollback. */
export function saveIndexes(k: Kernel): Indexes {
  const i = idx(k);
  return {
    waiters: new Map([...i.waiters].map(([w, s]) => [w, new Set(s)])),
    timed: new Set(i.timed),
    queued: new Set(i.queued),
  };
}

export function restoreIndexes(k: Kernel, saved: Indexes): void {
  const i = idx(k);
  i.waiters = new Map([...saved.waiters].map(([w, s]) => [w, new Set(s)]));
  i.timed = new Set(saved.timed);
  i.queued = new Set(saved.queued);
}
