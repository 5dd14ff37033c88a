/**
 * Design note: one error type for the engine. A failed dump or restore says which step failed,
 * which object it was working on (an image file, a pid, an IPC id, an fd) and why; the kernel's
 * ErrnoError or the image layer's ImageError that caused it is kept as `cause`. Its `code` is the
 * errno the failure is reported with (nsd_cr returns it, the `cr` tool prints the message): callers
 * test the code, never the text of `reason`.
 */
import { ErrnoError, type ErrnoCode } from '../abi/errno.js';
import { ImageError } from './image/index.js';

export type CrPhase = 'dump' | 'restore' | 'images';

/**
 * The errno of a failure whose site names none: the kernel's when an ErrnoError caused it, EINVAL
 * for refused images (phase 'images', or an ImageError met while restoring), EBUSY otherwise
 * (the tree or the restore target is not in a state this engine can work on).
 */
function defaultCode(phase: CrPhase, cause: unknown): ErrnoCode {
  if (cause instanceof ErrnoError) return cause.code;
  if (phase === 'images' || cause instanceof ImageError) return 'EINVAL';
  return 'EBUSY';
}

/** A refused or failed dump/restore: the phase, the step, the object and what is wrong (nothing is left half done). */
export class CrError extends Error {
  /** The errno it is reported with: ESRCH (no such tree), EOPNOTSUPP (`unsupported`), EINVAL (images), the kernel's, or EBUSY. */
  readonly code: ErrnoCode;

  constructor(
    readonly phase: CrPhase,
    readonly step: string,
    readonly object: string,
    readonly reason: string,
    override readonly cause?: unknown,
    code?: ErrnoCode,
  ) {
    super(`${phase} failed at ${step}${object ? ` (${object})` : ''}: ${reason}`);
    this.name = 'CrError';
    this.code = code ?? defaultCode(phase, cause);
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
  return new CrError(phase, step, object, `unsupported: ${what}`, undefined, 'EOPNOTSUPP');
}

/** The tree to dump does not exist (or is only a zombie): ESRCH, as kill(2) on a free pid. */
export function noSuchProcess(phase: CrPhase, object: string, reason = 'no such process'): CrError {
  return new CrError(phase, 'find-tree', object, reason, undefined, 'ESRCH');
}
