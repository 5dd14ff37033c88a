/**
 * Applets: utilities that run to completion without sleeping (kill, test, printf, ipcs, ipcmk,
 * ipcrm…). The same code serves as a separate program (`defineApplet`: one step, then exit) and as
 * a NOFORK shell builtin (the shell calls it with its own I/O), exactly like busybox's NOFORK
 * applets: as a builtin it makes its syscalls in the shell's process, so a next_syscall_data value
 * the shell armed is consumed by the applet's own call.
 */
import * as C from '../../abi/constants.js';
import type { Sys } from '../../syscalls/sys.js';
import { UsageError } from './args.js';
import { defineUserlandProgram } from './program.js';

export interface AppletIo {
  readonly sys: Sys;
  out(text: string | Uint8Array): void;
  err(text: string | Uint8Array): void;
  getenv(name: string): string | undefined;
}

/** Returns the exit status. */
export type Applet = (argv: string[], io: AppletIo) => number;

/** Runs an applet, turning a UsageError into `prog: message` and status `usageStatus`. */
export function runApplet(applet: Applet, argv: string[], io: AppletIo, usageStatus = 1): number {
  try {
    return applet(argv, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`${basename(argv[0] ?? '')}: ${e.message}\n`);
      return usageStatus;
    }
    throw e;
  }
}

export function basename(path: string): string {
  const parts = path.split('/').filter(Boolean);
  return parts[parts.length - 1] ?? path;
}

/** Installs an applet as a program of its own. */
export function defineApplet(name: string, applet: Applet, usageStatus = 1): void {
  defineUserlandProgram<{ done: boolean }>({
    name,
    start: () => ({ done: false }),
    step(p) {
      const io: AppletIo = { sys: p.sys, out: (t) => p.out(t), err: (t) => p.err(t), getenv: (n) => p.getenv(n) };
      return p.exit(runApplet(applet, [...p.argv], io, usageStatus));
    },
  });
}

// ---- signal names (kill, trap) ----

const SIGNALS: Array<[string, number]> = Object.entries(C)
  .filter(([n, v]) => /^SIG[A-Z]+[0-9]*$/.test(n) && typeof v === 'number' && !['SIG_DFL', 'SIG_IGN', 'SIG_BLOCK', 'SIG_UNBLOCK', 'SIG_SETMASK'].includes(n))
  .map(([n, v]) => [n.slice(3), v as number] as [string, number])
  .sort((a, b) => a[1] - b[1]);

/** Signal number for `TERM`, `SIGTERM`, `15` (case-insensitive); NaN if unknown. */
export function signalNumber(s: string): number {
  if (/^[0-9]+$/.test(s)) {
    const n = Number(s);
    return n >= 0 && n <= C.NSIG ? n : NaN;
  }
  const name = s.toUpperCase().replace(/^SIG/, '');
  if (name === 'EXIT') return 0;
  const hit = SIGNALS.find(([n]) => n === name);
  return hit ? hit[1] : NaN;
}

/** `TERM` for 15; the number as text when unknown. */
export function signalShortName(sig: number): string {
  return SIGNALS.find(([, v]) => v === sig)?.[0] ?? String(sig);
}

export function signalList(): ReadonlyArray<[string, number]> {
  return SIGNALS;
}
