/**
 * Reading inputs the way filters (cat, head, wc, grep…) do: each named file in turn, `-` or no
 * name meaning standard input. Reads are tried directly; a read that would sleep (an empty pipe,
 * the console) is yielded, and the next step resumes the same input with its result.
 */
import { ErrnoError, WouldBlockError, strerror, type ErrnoCode } from '../../abi/errno.js';
import { O_RDONLY } from '../../abi/constants.js';
import type { StepOutcome } from '../../syscalls/program.js';
import type { Proc } from './program.js';

export const CHUNK = 65536;

export interface InputState {
  files: string[];
  /** Index of the current file. */
  i: number;
  /** Open fd of the current file, -1 when none is open. */
  fd: number;
  /** A read was yielded: the next result is its outcome. */
  waiting: boolean;
  /** Set by a consumer that wants no more input (head). */
  stop: boolean;
  /** 1 once an input could not be opened or read. */
  failed: number;
}

export function newInput(files: string[]): InputState {
  return { files: files.length ? files : ['-'], i: 0, fd: -1, waiting: false, stop: false, failed: 0 };
}

export interface InputSink {
  /** A chunk of the current file (`name` as given, `-` for stdin). */
  data(bytes: Uint8Array, name: string): void;
  /** The current file ended. */
  end?(name: string): void;
  /** A file could not be opened or read (default: `prog: name: strerror`). */
  error?(name: string, code: ErrnoCode): void;
}

function report<S>(p: Proc<S>, prog: string, inp: InputState, sink: InputSink, name: string, code: ErrnoCode): void {
  inp.failed = 1;
  if (sink.error) sink.error(name, code);
  else p.err(`${prog}: ${name}: ${strerror(code)}\n`);
}

function closeCurrent<S>(p: Proc<S>, inp: InputState, sink: InputSink): void {
  const name = inp.files[inp.i]!;
  if (inp.fd > 0 || (inp.fd === 0 && name !== '-')) p.attempt(() => p.sys.close(inp.fd));
  inp.fd = -1;
  inp.i++;
  sink.end?.(name);
}

/**
 * Feeds input to `sink` until it is exhausted (returns null) or a read would sleep (returns the
 * read to yield). Call it again at the next step: it picks up the yielded read's result.
 */
export function pumpInput<S>(p: Proc<S>, prog: string, inp: InputState, sink: InputSink): StepOutcome | null {
  if (inp.waiting) {
    inp.waiting = false;
    const name = inp.files[inp.i]!;
    const r = p.result;
    if (!r || !r.ok) {
      report(p, prog, inp, sink, name, r && !r.ok ? r.code : 'EIO');
      closeCurrent(p, inp, sink);
    } else {
      const bytes = r.value as Uint8Array;
      if (bytes.length === 0) closeCurrent(p, inp, sink);
      else sink.data(bytes, name);
    }
  }
  while (!inp.stop && inp.i < inp.files.length) {
    const name = inp.files[inp.i]!;
    if (inp.fd < 0) {
      if (name === '-') inp.fd = 0;
      else {
        const r = p.attempt(() => p.sys.open(name, O_RDONLY));
        if (!r.ok) {
          report(p, prog, inp, sink, name, r.code);
          inp.i++;
          continue;
        }
        inp.fd = r.value;
      }
    }
    let bytes: Uint8Array;
    try {
      bytes = p.sys.read(inp.fd, CHUNK);
    } catch (e) {
      if (e instanceof WouldBlockError) {
        inp.waiting = true;
        return p.call('read', inp.fd, CHUNK);
      }
      if (!(e instanceof ErrnoError)) throw e;
      report(p, prog, inp, sink, name, e.code);
      closeCurrent(p, inp, sink);
      continue;
    }
    if (bytes.length === 0) closeCurrent(p, inp, sink);
    else sink.data(bytes, name);
    if (p.blockedOutput) return undefined;
  }
  if (inp.stop && inp.fd >= 0) closeCurrent(p, inp, sink);
  return null;
}
