/**
 * The native side: compiles bench/native/ops.c with gcc (once; the binary is cached in a temp
 * directory under a hash of the source) and drives it as a line-oriented server running as root
 * in a fresh `unshare --ipc --pid --fork`. When any of that is impossible, every native figure is
 * reported as unavailable with the reason; nothing is estimated.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** One native measurement: wall nanoseconds of the timed loop, or why it could not run. */
export type NativeReply = { ok: true; ns: number } | { ok: false; reason: string };

/** bench/native/ops.c, found from this module (compiled, it lives in dist/bench/lib). */
function sourcePath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, '..', 'native', 'ops.c'), join(here, '..', '..', '..', 'bench', 'native', 'ops.c')];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`cannot find bench/native/ops.c near ${here}`);
  return found;
}

/** Compiles ops.c (or reuses the cached binary); the binary's path or the reason it cannot be built. */
export function compileNative(): { path: string } | { reason: string } {
  const src = readFileSync(sourcePath());
  const dir = join(tmpdir(), `nsd-bench-${createHash('sha256').update(src).digest('hex').slice(0, 16)}`);
  const bin = join(dir, 'ops');
  if (existsSync(bin)) return { path: bin };
  mkdirSync(dir, { recursive: true });
  const tmp = `${bin}.${process.pid}`;
  const r = spawnSync('gcc', ['-O2', '-Wall', '-Wextra', '-o', tmp, sourcePath()], { encoding: 'utf8' });
  if (r.error) return { reason: `gcc is not available (${r.error.message})` };
  if (r.status !== 0) return { reason: `gcc failed: ${r.stderr.trim().split('\n')[0]}` };
  renameSync(tmp, bin);
  return { path: bin };
}

/** Whether the native side can run here, and why not. */
export function nativeProblem(): string | null {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (process.getuid?.() !== 0) return 'not root (unshare --ipc --pid needs it)';
  const u = spawnSync('unshare', ['--ipc', '--pid', '--fork', 'true'], { encoding: 'utf8' });
  if (u.error) return `unshare is not available (${u.error.message})`;
  if (u.status !== 0) return `unshare --ipc --pid --fork fails: ${u.stderr.trim()}`;
  return null;
}

/** A running native server. Requests are answered in order, one at a time. */
export class NativeServer {
  private readonly lines: Interface;
  private readonly pending: ((line: string | null) => void)[] = [];
  private closed = false;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    this.lines = createInterface({ input: child.stdout });
    this.lines.on('line', (line) => this.pending.shift()?.(line));
    child.on('close', () => {
      this.closed = true;
      for (const p of this.pending.splice(0)) p(null);
    });
  }

  /** Starts the server, or returns why it cannot run. */
  static async start(): Promise<NativeServer | string> {
    const problem = nativeProblem();
    if (problem) return problem;
    const bin = compileNative();
    if ('reason' in bin) return bin.reason;
    const child = spawn('unshare', ['--ipc', '--pid', '--fork', bin.path], { stdio: ['pipe', 'pipe', 'pipe'] });
    const server = new NativeServer(child);
    const hello = await server.next();
    if (hello === null || !hello.startsWith('ready')) return `the native server did not start (${hello ?? 'no output'})`;
    return server;
  }

  private next(): Promise<string | null> {
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => this.pending.push(resolve));
  }

  /** Runs `iters` iterations of `op` natively. */
  async run(op: string, iters: number): Promise<NativeReply> {
    const reply = this.next();
    if (!this.closed) this.child.stdin.write(`${op} ${iters}\n`);
    const line = await reply;
    if (line === null) return { ok: false, reason: 'the native server exited' };
    if (line.startsWith('ok ')) return { ok: true, ns: Number(line.slice(3)) };
    return { ok: false, reason: line.replace(/^unavailable /, '') };
  }

  /** Ends the server (closing stdin ends its loop). */
  async stop(): Promise<void> {
    if (this.closed) return;
    const done = new Promise<void>((resolve) => this.child.once('close', () => resolve()));
    this.child.stdin.end();
    await done;
  }
}
