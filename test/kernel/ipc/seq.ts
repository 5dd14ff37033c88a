/**
 * A tiny program for scheduler tests: it makes a fixed list of syscalls, one per step, and records
 * each result under a tag (the record is test-side memory, not kernel state).
 */
import { type Kernel, type Task } from '../../../src/index.js';
import { defineBareProgram } from '../../../src/syscalls/program.js';
import type { SysResult } from '../../../src/kernel/state.js';
import { untypedCall } from '../../../src/syscalls/table.js';

export const LOG = new Map<string, SysResult[]>();

interface SeqState {
  tag: string;
  calls: [string, unknown[]][];
  i: number;
}

export const SEQ = defineBareProgram<SeqState>({
  name: '/bin/ipc-seq',
  start: (ctx) => ({ tag: ctx.argv[1]!, calls: JSON.parse(ctx.argv[2]!) as [string, unknown[]][], i: 0 }),
  step(ctx) {
    const s = ctx.state;
    if (s.i > 0 && ctx.result) LOG.get(s.tag)!.push(ctx.result);
    if (s.i >= s.calls.length) return { exit: 0 };
    const [call, args] = s.calls[s.i++]!;
    return untypedCall(call, args);
  },
});

/** Forks a child of `parent` (default init) that runs `calls` under the scheduler. */
export function spawn(k: Kernel, tag: string, calls: [string, unknown[]][], parent: Task = k.init): Task {
  LOG.set(tag, []);
  const pid = parent.sys.fork();
  // The pid is the child's number in the parent's namespace.
  const t = k.taskIn(parent, pid)!;
  t.sys.execve('/bin/ipc-seq', ['ipc-seq', tag, JSON.stringify(calls)]);
  return t;
}

/** The recorded results of a tag, as values or `!ERRNO`. */
export function results(tag: string): unknown[] {
  return (LOG.get(tag) ?? []).map((r) => (r.ok ? r.value : `!${r.code}`));
}
