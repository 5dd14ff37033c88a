/**
 * Design note: all-or-nothing restores. Before a restore creates anything, the target kernel's
 * state (plain data) is copied; if any step fails, the state is put back and the derived indexes
 * (wait queues, timers, run-queue membership) rebuilt from it in sleep order, which the state
 * holds (`BlockState.seq`), so the kernel is exactly as before — also the counters a real teardown
 * would leave moved in Linux (pid cursors, id counters, the clock is never moved by a restore).
 * Task objects that existed before keep their identity, so a program step that is running the
 * restore (the `cr` program) keeps its own state object.
 */
import type { Kernel } from '../syscalls/scheduler.js';
import type { KernelState } from '../kernel/state.js';

export class KernelTransaction {
  private readonly snap: KernelState;

  constructor(private readonly k: Kernel) {
    this.snap = structuredClone(k.s);
  }

  rollback(): void {
    const live = this.k.s;
    const snap = structuredClone(this.snap);
    const tasks = new Map<number, KernelState['tasks'] extends Map<number, infer T> ? T : never>();
    for (const [kid, t] of snap.tasks) {
      const cur = live.tasks.get(kid);
      if (cur) {
        Object.assign(cur, t);
        tasks.set(kid, cur);
      } else tasks.set(kid, t);
    }
    Object.assign(live, snap, { tasks });
    this.k.rebuildIndexes();
  }
}
