/**
 * Design note: one error type for the engine. A failed dump or restore says which step failed,
 * which object it was working on (an image file, a pid, an IPC id, an fd) and why; the kernel's
 * ErrnoError or the image layer's ImageError that caused it is kept as `cause`.
 */
import { ErrnoError } from '../abi/errno.js';
import { ImageError } from './image/index.js';

export type CrPhase = 'dump' | 'restore' | 'images';

/** A refused or failed dump/restore: the phase, the step, the object and what is wrong (nothing is left half done). */
export class CrError extends Error {
  constructor(
    readonly phase: CrPhase,
    readonly step: string,
    readonly object: string,
    readonly reason: string,
    override readonly cause?: unknown,
  ) {
    super(`${phase} failed at ${step}${object ? ` (${object})` : ''}: ${reason}`);
    this.name = 'CrError';
  }

  /** Wraps anything thrown inside a step, keeping a CrError as it is. */
  static wrap(phase: CrPhase, step: string, object: string, e: unknown): CrError {
    if (e instanceof CrError) return e;
    let reason: string;
    if (e instanceof ErrnoError) reason = e.message;
    else if (e instanceof ImageError) reason = `${e.file}@${e.offset}: ${e.reason}`;
    else reason = e instanceof Error ? e.message : String(e);
    return new CrError(phase, step, object, reason, e);
  }
}

/** A feature of the tree this engine cannot checkpoint (refused before anything changes). */
export function unsupported(phase: CrPhase, step: string, object: string, what: string): CrError {
  return new CrError(phase, step, object, `unsupported: ${what}`);
}
