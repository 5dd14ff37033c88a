/**
 * Runs conformance scripts against the host's real Linux kernel: compiles native/ipc-harness.c
 * once per process with gcc, and runs it in a fresh IPC namespace (`unshare --ipc`) per script.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { normalise, parseOutput, type NativeResult, type RunMeta } from './results.js';

export { normalise };
export type { NativeResult, RunMeta };

/** The results of one script, with the harness's header (pid etc.) and raw output. */
export type NativeRun = NativeResult[] & { meta: RunMeta; stdout: string; stderr: string; status: number };

const HARNESS_SOURCE = join('native', 'ipc-harness.c');

/**
 * The source directory test/conformance (holding native/ and scripts/), found from this module:
 * compiled, it lives in dist/test/conformance, three levels below the repository root.
 */
export function conformanceDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [here, join(here, '..', '..', '..', 'test', 'conformance')];
  const found = candidates.find((d) => existsSync(join(d, HARNESS_SOURCE)));
  if (!found) throw new Error(`cannot find ${HARNESS_SOURCE} near ${here}`);
  return found;
}

/** The corpus: every scripts/*.txt, sorted by name. */
export function scriptFiles(): { name: string; path: string; text: string }[] {
  const dir = join(conformanceDir(), 'scripts');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.txt'))
    .sort()
    .map((name) => ({ name, path: join(dir, name), text: readFileSync(join(dir, name), 'utf8') }));
}

let compiled: { path: string | null; error?: string } | undefined;

/** Compiles the harness (once per process); the binary's path, or null (see harnessError()). */
export function compileHarness(): string | null {
  if (compiled) return compiled.path;
  const gcc = spawnSync('gcc', ['--version'], { encoding: 'utf8' });
  if (gcc.error || gcc.status !== 0) {
    compiled = { path: null, error: 'gcc is not installed' };
    return null;
  }
  const out = join(mkdtempSync(join(tmpdir(), 'ipc-harness-')), 'ipc-harness');
  const r = spawnSync('gcc', ['-O2', '-Wall', '-Wextra', '-o', out, join(conformanceDir(), HARNESS_SOURCE)], {
    encoding: 'utf8',
  });
  compiled =
    r.status === 0 ? { path: out } : { path: null, error: `gcc failed: ${(r.error?.message ?? r.stderr).trim()}` };
  return compiled.path;
}

/** Why compileHarness() returned null (undefined when it has not failed). */
export function harnessError(): string | undefined {
  return compiled?.error;
}

/** Whether scripts can run natively here: Linux, root, `unshare --ipc` and gcc. */
export function canRunNative(): { ok: true } | { ok: false; reason: string } {
  if (process.platform !== 'linux') return { ok: false, reason: `not Linux (${process.platform})` };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'not running as root (unshare --ipc and sysctl writes need it)' };
  const u = spawnSync('unshare', ['--ipc', 'true'], { encoding: 'utf8' });
  if (u.error) return { ok: false, reason: `unshare is not available: ${u.error.message}` };
  if (u.status !== 0) return { ok: false, reason: `unshare --ipc fails: ${u.stderr.trim()}` };
  if (compileHarness() === null) return { ok: false, reason: harnessError() ?? 'cannot compile the harness' };
  return { ok: true };
}

/**
 * Runs a script in a fresh IPC namespace and parses the results (one per op, in order).
 * Script errors come back as results with `error`; a harness crash throws.
 */
export function runNative(script: string): NativeRun {
  const bin = compileHarness();
  if (bin === null) throw new Error(`cannot run natively: ${harnessError()}`);
  const r = spawnSync('unshare', ['--ipc', bin], { input: script, encoding: 'utf8', timeout: 60_000, maxBuffer: 256 << 20 });
  if (r.error) throw r.error;
  if (r.status !== 0 && r.status !== 2) {
    throw new Error(`ipc-harness exited with ${r.status ?? r.signal}: ${r.stderr.trim()}\n${r.stdout}`);
  }
  const { meta, results, end } = parseOutput(r.stdout);
  if (!end) throw new Error(`ipc-harness output has no end line:\n${r.stdout}`);
  return Object.assign(results, { meta, stdout: r.stdout, stderr: r.stderr, status: r.status });
}
