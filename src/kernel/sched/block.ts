/**
 * Blocking as a value. A syscall handler that would sleep in Linux throws a `Block` *before it
 * changes anything* (or records its partial progress in `data`). The syscall layer turns it into a
 * `WouldBlockError` for a direct call, or parks the task under the scheduler, which re-invokes the
 * same syscall (same name, same arguments) when the wait channel is woken. During that
 * re-invocation `Kernel.resuming` holds the previous BlockState, so a handler can see its deadline
 * and saved progress.
 */
export class Block {
  constructor(
    /** Wait channel: `kind:ids…`, woken with `Kernel.wake(wchan)`. */
    readonly wchan: string,
    /** Absolute virtual deadline in ns, or null. */
    readonly deadlineNs: number | null = null,
    /** Handler-private data kept while asleep (plain data). */
    readonly data: unknown = null,
    /** For a direct call: the value to return instead of WouldBlock (partial progress). */
    readonly partial: unknown = undefined,
  ) {}
}

export function block(wchan: string, deadlineNs: number | null = null, data: unknown = null, partial?: unknown): never {
  throw new Block(wchan, deadlineNs, data, partial);
}
