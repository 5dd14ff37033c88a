/**
 * Design note: every refusal of an image — bad magic, truncation, a length
 * that runs past the end, counts over a limit, payload sizes that do not add
 * up, bytes protobuf cannot parse, a wrong checksum — is one `ImageError`
 * carrying the file name, the byte offset where reading stopped and a plain
 * reason. Code in this folder never throws anything else on purpose for a
 * bad input; `wrapDecode` turns the library's own errors into ImageError.
 */

/** A refused CRIU (or nsd) image: where, and why. */
export class ImageError extends Error {
  /** The image file name as given by the caller ("<buffer>" if none). */
  readonly file: string;
  /** Byte offset in the file where the problem was found. */
  readonly offset: number;
  /** The reason, without the file/offset prefix. */
  readonly reason: string;

  constructor(file: string, offset: number, reason: string) {
    super(`${file}@${offset}: ${reason}`);
    this.name = 'ImageError';
    this.file = file;
    this.offset = offset;
    this.reason = reason;
  }

  toJSON(): { name: string; file: string; offset: number; reason: string } {
    return { name: this.name, file: this.file, offset: this.offset, reason: this.reason };
  }
}

/** Runs `fn`, re-throwing anything it throws as an ImageError at `offset`. */
export function wrapDecode<T>(file: string, offset: number, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ImageError) throw e;
    const msg = e instanceof Error ? e.message : String(e);
    throw new ImageError(file, offset, `invalid ${what}: ${msg}`);
  }
}
