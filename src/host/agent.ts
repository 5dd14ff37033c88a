/**
 * Design note: the C agent's life on the Node side. `agentBinary()` compiles
 * src/host/native/agent.c with gcc at first use into a cache directory ($NSD_HOST_CACHE, else
 * $XDG_CACHE_HOME/nsd-host or ~/.cache/nsd-host, else the temporary directory), named by the hash of
 * its source so an edited agent is rebuilt and concurrent first uses do not collide (write to a
 * temporary name, then rename). `Agent.start('ns')` spawns it as init of a new pid + IPC namespace;
 * `Agent.start('plain')` leaves it in ours (to dump another namespace, or to probe the kernel).
 * Requests are pipelined (protocol.ts) and written in one writev; `run` resolves with every answer
 * in order.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { constants, homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeRequests, OP, readI64, type OpName, type Request, type Response } from './protocol.js';

/** A failed agent operation or an agent that cannot run; names the operation, object and errno. */
export class HostError extends Error {
  constructor(
    message: string,
    readonly errno?: string,
  ) {
    super(message);
    this.name = 'HostError';
  }
}

const EMPTY = new Uint8Array(0);
/** Frames at least this long are received into a buffer of their own (see Agent.large). */
const LARGE = 1 << 20;
const ERRNO_NAMES = new Map<number, string>(Object.entries(constants.errno).map(([k, v]) => [v, k]));

/** E.g. 22 → 'EINVAL'. */
export function errnoName(n: number): string {
  return ERRNO_NAMES.get(n) ?? `errno ${n}`;
}

/** The agent's C source, found from this module (src/host or dist/src/host). */
export function agentSource(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'native', 'agent.c'), join(here, '..', '..', '..', 'src', 'host', 'native', 'agent.c')];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new HostError(`cannot find the agent's source native/agent.c near ${here}`);
  return found;
}

function cacheDirs(): string[] {
  const dirs: string[] = [];
  if (process.env.NSD_HOST_CACHE) dirs.push(process.env.NSD_HOST_CACHE);
  dirs.push(join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'nsd-host'));
  dirs.push(join(tmpdir(), `nsd-host-${process.getuid?.() ?? 0}`));
  return dirs;
}

let built: { path?: string; error?: string } | undefined;

/** Compiles the agent once (per source version); its path. Throws HostError when gcc fails. */
export function agentBinary(): string {
  if (built?.path) return built.path;
  if (built?.error) throw new HostError(built.error);
  const src = agentSource();
  const hash = createHash('sha256').update(readFileSync(src)).digest('hex').slice(0, 16);
  let lastError = '';
  for (const dir of cacheDirs()) {
    const bin = join(dir, `agent-${hash}`);
    if (existsSync(bin)) return (built = { path: bin }).path!;
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      lastError = `${dir}: ${(e as Error).message}`;
      continue;
    }
    const tmp = `${bin}.${process.pid}.tmp`;
    const r = spawnSync('gcc', ['-O2', '-Wall', '-pthread', '-o', tmp, src], { encoding: 'utf8' });
    if (r.error) {
      built = { error: `cannot compile the host agent: gcc: ${r.error.message}` };
      throw new HostError(built.error!);
    }
    if (r.status !== 0) {
      lastError = `gcc failed: ${r.stderr.trim()}`;
      if (/error:/.test(r.stderr)) break;
      continue;
    }
    renameSync(tmp, bin);
    return (built = { path: bin }).path!;
  }
  built = { error: `cannot compile the host agent: ${lastError}` };
  throw new HostError(built.error!);
}

/** Where the command the agent runs (OP_EXEC without capture) reads and writes. */
export interface AgentOptions {
  /** Pass this process's stdout and stdin to the agent as fds 3 and 4 (for `-- CMD`). */
  passStdio?: boolean;
}

/** A running agent. */
export class Agent {
  /** Batches waiting for answers, oldest first (one promise per batch, not per request). */
  private readonly pending: { want: number; got: Response[]; resolve: (r: Response[]) => void; reject: (e: Error) => void }[] = [];
  private dead: Error | undefined;
  /** The agent's pid on the host (for 'ns': the init of the new namespaces). */
  hostPid = 0;
  /** Whether it can hash what it restores (it found libcrypto): OP_SHMFILE needs it. */
  sha256 = false;
  private stderr = '';

  private constructor(
    private readonly child: ChildProcess,
    readonly mode: 'ns' | 'plain',
  ) {
    child.stdout!.on('data', (d: Buffer) => this.onData(d));
    child.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    child.on('exit', (code, sig) => this.fail(new HostError(`host agent exited (${sig ?? code})${this.stderr ? `: ${this.stderr.trim()}` : ''}`)));
    child.on('error', (e) => this.fail(new HostError(`host agent: ${e.message}`)));
    child.stdin!.on('error', () => {
      /* reported by 'exit' */
    });
  }

  /** Spawns an agent; resolves once it has said hello. */
  static async start(mode: 'ns' | 'plain', opts: AgentOptions = {}): Promise<Agent> {
    const bin = agentBinary();
    const stdio: ('pipe' | 'inherit' | number)[] = ['pipe', 'pipe', 'pipe'];
    if (opts.passStdio) stdio.push(1, 0);
    const a = new Agent(spawn(bin, [mode], { stdio }), mode);
    const [hello] = await a.expect(1);
    a.hostPid = Number(hello!.ret);
    a.sha256 = Buffer.from(hello!.data).toString('latin1').split(' ').includes('sha256');
    return a;
  }

  /** The next `want` answers, in order. */
  private expect(want: number): Promise<Response[]> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise((resolve, reject) => this.pending.push({ want, got: [], resolve, reject }));
  }

  /** Received bytes not yet parsed: chunks are joined only once a whole frame is there. */
  private chunks: Buffer[] = [];
  private have = 0;
  /** A large frame (a dump's answer) being received: copied into its own buffer as it arrives,
   *  not kept in chunks and joined at the end (one copy, while the agent is still writing). */
  private large: { buf: Buffer; have: number } | undefined;

  private onData(d: Buffer): void {
    if (this.large) {
      const l = this.large;
      const n = Math.min(d.length, l.buf.length - l.have);
      d.copy(l.buf, l.have, 0, n);
      l.have += n;
      if (l.have < l.buf.length) return;
      this.large = undefined;
      this.parse(l.buf);
      if (n === d.length) return;
      d = d.subarray(n);
    }
    this.chunks.push(d);
    this.have += d.length;
    if (this.have < 4) return;
    if (this.chunks.length > 1) {
      const first = this.chunks[0]!.length >= 4 ? this.chunks[0]! : Buffer.concat(this.chunks, this.have);
      if (this.have < 4 + first.readUInt32LE(0)) return; // a frame still arriving
    }
    const buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.have);
    const at = this.parse(buf);
    const rest = at === buf.length ? undefined : buf.subarray(at);
    this.chunks = rest ? [rest] : [];
    this.have = rest ? rest.length : 0;
    if (rest && rest.length >= 4 && rest.readUInt32LE(0) >= LARGE) {
      this.large = { buf: Buffer.allocUnsafeSlow(4 + rest.readUInt32LE(0)), have: rest.length };
      rest.copy(this.large.buf);
      this.chunks = [];
      this.have = 0;
    }
  }

  /** Answers the whole frames at the start of `buf`; where the first partial one starts. */
  private parse(buf: Buffer): number {
    let at = 0;
    while (buf.length - at >= 4) {
      const len = buf.readUInt32LE(at);
      if (buf.length - at - 4 < len) break;
      const ret = readI64(buf, at + 4);
      const errno = buf.readInt32LE(at + 12);
      const data = buf.subarray(at + 20, at + 4 + len);
      at += 4 + len;
      const p = this.pending[0];
      if (!p) continue;
      // A view, not a copy: a received buffer is never written again once parsed.
      p.got.push({ ret, errno, data: len > 16 ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : EMPTY });
      if (p.got.length === p.want) {
        this.pending.shift();
        p.resolve(p.got);
      }
    }
    return at;
  }

  private fail(e: Error): void {
    if (this.dead) return;
    this.dead = e;
    for (const p of this.pending.splice(0)) p.reject(e);
  }

  /** Sends every request at once; resolves with their answers in order. */
  run(reqs: readonly Request[]): Promise<Response[]> {
    if (this.dead) return Promise.reject(this.dead);
    if (reqs.length === 0) return Promise.resolve([]);
    const answers = this.expect(reqs.length);
    // One writev of every chunk (the frames and, by reference, the large data).
    const stdin = this.child.stdin!;
    stdin.cork();
    for (const chunk of encodeRequests(reqs)) stdin.write(chunk);
    stdin.uncork();
    return answers;
  }

  /** One request; throws HostError naming `what` when it fails. */
  async call(op: OpName, args: readonly (number | bigint)[], data?: Uint8Array, what: string = op): Promise<Response> {
    const [r] = await this.run([{ op, args, ...(data ? { data } : {}) }]);
    if (r!.errno !== 0) throw new HostError(`${what}: ${errnoName(r!.errno)}`, errnoName(r!.errno));
    return r!;
  }

  /** Detaches the agent: it stays alive as the namespaces' init (kill hostPid to end them). */
  async hold(): Promise<void> {
    await this.call('HOLD', []);
    this.child.stdin!.end();
    this.child.stdout!.destroy();
    this.child.stderr?.destroy();
    this.child.unref();
  }

  /** Ends the agent and, for 'ns', everything in its namespaces. */
  async close(): Promise<void> {
    if (this.dead) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin!.end();
    this.child.kill('SIGKILL');
    if (this.hostPid && this.mode === 'ns') {
      try {
        process.kill(this.hostPid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    await gone;
  }
}

/** Whether the host backend can run here; the reason when it cannot. */
export function hostSupport(): { ok: true } | { ok: false; reason: string } {
  if (process.platform !== 'linux') return { ok: false, reason: `not Linux (${process.platform})` };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'not root (new pid/IPC namespaces, set_tid and *_next_id need it)' };
  try {
    agentBinary();
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
  return { ok: true };
}

export { OP };
