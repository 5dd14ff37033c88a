/**
 * The host-side migration verbs (docs/migration.md):
 *
 *   nsd page-server --port N [--address 127.0.0.1] [-D DIR] [--restore [-s S] [--lazy-pages]]
 *       waits for one page-server stream; with -D writes the images it carried into host DIR
 *       (restorable with `nsd restore -D DIR`); with --restore restores them in this process's
 *       kernel and runs the tree to its end (what `nsd migrate` starts as kernel B);
 *   nsd dump ... --page-server [--address A] --port N
 *       after the dump, sends the images to a page server (pages as page frames, the rest as FILE
 *       frames); DIR keeps its copy;
 *   nsd migrate [-s S] [--after T] [--pre-copy [--rounds N] [--interval T]] [--leave-running | --lazy-pages] -- CMD
 *       starts CMD as a container in this process's kernel (A), starts kernel B as a child process
 *       (`nsd page-server --restore`), lets CMD run, (pre-copies,) freezes, streams, restores in B,
 *       kills A's copy; CMD's output goes to stdout from A then from B; figures go to stderr.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { spawn } from 'node:child_process';
import { connect, createServer, type Socket } from 'node:net';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readBytes } from './files.js';
import { fileURLToPath } from 'node:url';
import cliProgress from 'cli-progress';
import { SIGKILL } from '../abi/constants.js';
import { PROFILES } from '../kernel/profile.js';
import type { Kernel } from '../syscalls/scheduler.js';
import { STRATEGIES } from '../cr/strategy.js';
import { migrateOut, serveMigration, type MigrateOutResult } from '../migrate/migrate.js';
import { PageSender } from '../migrate/sender.js';
import { joinImages, sendRound, splitImages, type RoundStats } from '../migrate/pages.js';
import { receiveStream } from '../migrate/receiver.js';
import { fetchLazy, registerStreamLazy } from '../migrate/lazy.js';
import { validFileName } from '../migrate/protocol.js';
import { Session, defaultEnv } from './session.js';
import { restore } from '../cr/restore.js';
import type { StrategyName } from '../cr/strategy.js';
import { exitCodeOf } from '../userland/lib/process.js';
import { containerStart, installContainer, modelOptions, shellQuote, type ModelFlags } from './cr-commands.js';
import { endWeb, startWebFor } from './web-commands.js';
import type { LiveView } from '../web/live.js';

const port = (v: string): number => {
  if (!/^[0-9]+$/.test(v) || Number(v) > 65535) throw new InvalidArgumentError('not a port number (0-65535)');
  return Number(v);
};

/** `sleep`'s duration syntax (N, Ns, Nm, Nh; fractions allowed) → ns. */
export function parseDuration(v: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)([smh]?)$/.exec(v);
  if (!m) throw new InvalidArgumentError('not a duration (e.g. 2, 1.5s, 1m)');
  return Math.round(Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600 }[m[2] as '' | 's' | 'm' | 'h'] * 1e9);
}

const mib = (b: number): string => `${(b / 1048576).toFixed(2)} MiB`;
const ms = (t: number): string => `${t.toFixed(1)} ms`;

export function roundLine(name: string, st: RoundStats): string {
  return `${name}: ${st.pagesData} pages sent, ${st.pagesParent} unchanged, ${st.pagesZero} zero, ${mib(st.bytes)} in ${ms(st.ms)}`;
}

/**
 * The progress bar of the frozen transfer. Its total starts as an upper bound (`migrateOut`'s
 * `onFrozen`: zero pages, holes and lazy pages send less than their bytes), so `finish` sets the
 * total to what was really sent before the last redraw: the final line always reads 100 %.
 */
export class TransferBar {
  private readonly bar: cliProgress.SingleBar;
  private sent = 0;

  constructor(stream: NodeJS.WritableStream, max: number, tty = true) {
    this.bar = new cliProgress.SingleBar(
      { format: 'transfer [{bar}] {percentage}% {value}/{total} bytes', hideCursor: true, stream, noTTYOutput: !tty },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(max, 0);
  }

  /** `n` bytes sent so far (a bound above it grows the total). */
  update(n: number): void {
    this.sent = n;
    if (n > this.bar.getTotal()) this.bar.setTotal(n);
    this.bar.update(n);
  }

  /** The transfer is over: total = bytes sent, a last 100 % line, and the bar stops. */
  finish(): void {
    this.bar.setTotal(this.sent);
    this.bar.update(this.sent);
    this.bar.stop();
  }

  /** The transfer failed: the bar stops where it is. */
  abort(): void {
    this.bar.stop();
  }
}

/** Runs a session's scheduler until `until()` or the end, yielding to the event loop between slices. */
async function drive(s: Session, until: () => boolean = () => false): Promise<'done' | 'until'> {
  s.endInput();
  for (;;) {
    if (until()) return 'until';
    const r = s.runSlice();
    if (r === 'done') return until() ? 'until' : 'done';
    if (r === 'timer') s.advance();
    else if (r === 'stuck' || r === 'input') throw new Error('session stuck: every task sleeps and nothing can wake it');
    await new Promise((res) => setImmediate(res));
  }
}

/** Runs until virtual time `ns` has passed (or the session ends): true if it is still running. */
function runFor(s: Session, ns: number): boolean {
  const k = s.kernel;
  const end = k.now + ns;
  for (let i = 0; i < 100000; i++) {
    const r = s.runSlice();
    if (r === 'done') return false;
    if (r === 'busy') continue;
    if (r !== 'timer') return false;
    const d = k.nextDeadline()!;
    if (d > end) {
      k.advanceTo(end);
      return true;
    }
    s.advance();
  }
  return true;
}

/** The container containerStart() started: the init of a level-1 pid namespace. */
function containerRoot(k: Kernel): number | null {
  for (const t of k.s.tasks.values()) {
    if (t.kid === t.tgid && t.pids.length === 2 && t.state !== 'zombie' && t.state !== 'dead' && k.pidNs(t.pidns).reaper === t.tgid) return t.kid;
  }
  return null;
}

/**
 * Kernel B of a migration: a session whose program is a placeholder (`sleep`, holding the
 * session's console as fds 0-2) and the tree restored as its child with the library's `restore`
 * (what `cr restore` calls; the placeholder is the restorer, so the tree inherits its stdio as it
 * would cr's). The images never enter the model's file system: writing them there, reading them
 * back and the restore transaction's snapshot of them (every image byte copied three times) cost
 * more than the restore itself, inside the downtime.
 */
class RestoredTree {
  readonly s: Session;
  private holder = 0;
  rootKid = 0;

  constructor(o: ModelFlags & { trace?: boolean }) {
    this.s = new Session({
      profile: o.profile,
      seed: o.seed,
      stdout: (b) => process.stdout.write(b),
      stderr: (b) => process.stderr.write(b),
      trace: o.trace ? (line) => void process.stderr.write(`${line}\n`) : undefined,
    });
    this.s.start(['/bin/sleep', '2000000000'], defaultEnv());
    this.s.endInput();
    const k = this.s.kernel;
    k.run({ maxSteps: 20000, until: () => this.findHolder() });
    if (!this.findHolder()) throw new Error('kernel B: the restorer process did not start');
  }

  private findHolder(): boolean {
    for (const t of this.s.kernel.s.tasks.values()) {
      if (t.comm === 'sleep' && t.state === 'blocked') {
        this.holder = t.kid;
        return true;
      }
    }
    return false;
  }

  /** Restores `images` (all or nothing); returns the restored init's kid. */
  restore(images: ReadonlyMap<string, Uint8Array>, strategy: string): number {
    // The images came over the stream (CRC-32 on every frame) and were joined in this process for
    // this restore alone (written to -D first, if asked): checked, and handed over (no shm copy).
    const r = restore(this.s.kernel, images, { strategy: strategy as StrategyName, restorer: this.holder, imagesChecked: true, adoptImages: true });
    this.rootKid = this.s.kernel.task(r.rootPid)!.state.kid;
    return this.rootKid;
  }

  /** True once the restored init has exited. */
  ended(): boolean {
    const t = this.s.kernel.s.tasks.get(this.rootKid);
    return t === undefined || t.state === 'zombie' || t.state === 'dead';
  }

  /** Runs the tree to its end; the restored init's exit status (128 + signal when killed). */
  async finish(): Promise<number> {
    await drive(this.s, () => this.ended());
    const k = this.s.kernel;
    const status = exitCodeOf(k.proc(this.rootKid).status);
    k.init.sys.kill(k.pidIn(this.holder, k.init.kid), SIGKILL);
    await drive(this.s);
    return status;
  }
}

interface ServerFlags extends ModelFlags {
  port: number;
  address: string;
  imagesDir?: string;
  restore: boolean;
  strategy: string;
  lazyPages: boolean;
}

/**
 * `page-server --restore --lazy-pages`: the in-model `cr restore` restores the tree with the lazy
 * pages left out; the kernel is run step by step until the restored init exists (the restore is
 * one system call, so the tree has not run yet) and the lazy pages are registered missing; CLOSE
 * is answered; then faults become GETs to the source while the session runs (fetchLazy).
 */
async function lazyServer(sock: Socket, o: ServerFlags, say: (t: string) => void): Promise<number> {
  let b: RestoredTree | null = null;
  let regs = new Map<number, number>();
  let rootKid = 0;
  try {
    await receiveStream(sock, {
      keepOpen: true,
      onComplete: (got) => {
        const images = joinImages(got, true, o.imagesDir !== undefined);
        if (o.imagesDir) for (const [n, bytes] of images) writeFileSync(join(o.imagesDir, n), bytes);
        b = new RestoredTree(o);
        rootKid = b.restore(images, o.strategy);
        // The lazy pages are missing before the tree runs one step (the restore is one call).
        regs = registerStreamLazy(b.s.kernel, rootKid, got);
        return 0;
      },
    });
  } catch (e) {
    say(`${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  const tree = b as unknown as RestoredTree;
  const s = tree.s;
  const tx = new PageSender(sock);
  sock.resume();
  try {
    const st = await fetchLazy(s.kernel, regs, tx, {
      // Virtual time does not jump while pages are missing: the tree runs as far as it can, and
      // idle rounds push pages in the background.
      step: () => {
        const r = s.runSlice(2000);
        return r !== 'done' && !tree.ended();
      },
    });
    say(`lazy pages: ${st.faults} faults served, ${st.pushed} pages pushed, ${st.gets} GETs, ${mib(st.bytes)} in ${ms(st.ms)}`);
  } catch (e) {
    if (!tree.ended()) s.kernel.init.sys.kill(s.kernel.pidIn(rootKid, s.kernel.init.kid), SIGKILL);
    sock.destroy();
    const why = e instanceof Error ? e.message : String(e);
    say(`lazy pages: ${why}; the restored tree is killed (it cannot be completed)`);
    await tree.finish().catch(() => 1);
    return 1;
  }
  return tree.finish();
}

async function pageServer(o: ServerFlags): Promise<number> {
  if (o.imagesDir) mkdirSync(o.imagesDir, { recursive: true });
  const say = (t: string) => process.stderr.write(`nsd page-server: ${t}\n`);
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.address, () => resolve());
  });
  const addr = server.address() as { address: string; port: number };
  say(`listening on ${addr.address}:${addr.port}`);
  const sock = await new Promise<Socket>((resolve) => server.once('connection', resolve));
  server.close();
  if (o.lazyPages) return lazyServer(sock, o, say);
  let tree: RestoredTree | null = null;
  try {
    const got = await serveMigration(sock, {
      join: o.imagesDir !== undefined || o.restore,
      manifest: o.imagesDir !== undefined,
      restore: (images) => {
        if (o.imagesDir) for (const [n, b] of images) writeFileSync(join(o.imagesDir, n), b);
        if (!o.restore) return 0;
        // Running in B once the restore call has returned: the tree is there, all or nothing.
        tree = new RestoredTree(o);
        tree.restore(images, o.strategy);
        return 0;
      },
    });
    say(`received ${got.pagesData} pages, ${got.pagesZero} zero, ${got.pagesParent} unchanged, ${got.files.size} images, ${got.bytes} bytes`);
  } catch (e) {
    say(`${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  if (!tree) return 0;
  return (tree as RestoredTree).finish();
}

/** Reads a host images directory (the *.img files). */
function readImagesDir(dir: string): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const n of readdirSync(dir).sort()) {
    if (!validFileName(n) || !statSync(join(dir, n)).isFile()) continue;
    out.set(n, readBytes(join(dir, n)));
  }
  return out;
}

function dial(address: string, p: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(p, address, () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** `nsd dump --page-server`: sends DIR's images to a page server. */
async function sendDir(dir: string, address: string, p: number): Promise<number> {
  const { files, pagemaps } = splitImages(readImagesDir(dir));
  const tx = new PageSender(await dial(address, p));
  const st = await sendRound(tx, pagemaps);
  for (const [n, b] of files) await tx.file(n, b);
  const status = await tx.close();
  process.stderr.write(`nsd dump: ${roundLine('sent', st)}; ${files.size} images; ${tx.bytes} bytes to ${address}:${p}, status ${status}\n`);
  return status === 0 ? 0 : 1;
}

interface MigrateFlags extends ModelFlags {
  strategy: string;
  after: string;
  preCopy: boolean;
  rounds: number;
  interval: string;
  leaveRunning: boolean;
  web?: boolean;
  lazyPages: boolean;
}

async function migrate(cmd: string[], o: MigrateFlags, web: LiveView | null = null): Promise<number> {
  const err = (t: string) => process.stderr.write(t);
  if (o.preCopy && !PROFILES[o.profile].softDirty) {
    err(`nsd migrate: --pre-copy needs memory tracking, which ${o.profile} does not have (no soft-dirty bit in /proc/PID/pagemap before Linux 3.11)\n`);
    return 1;
  }
  const t0 = performance.now();
  // Kernel B: another OS process.
  const main = fileURLToPath(new URL('./main.js', import.meta.url));
  const b = spawn(process.execPath, [main, 'page-server', '--address', '127.0.0.1', '--port', '0', '--restore', ...(o.lazyPages ? ['--lazy-pages'] : []), '-s', o.strategy, '--profile', o.profile, '--seed', String(o.seed), ...(o.trace ? ['--trace'] : [])], {
    stdio: ['ignore', o.leaveRunning ? 'pipe' : 'inherit', 'pipe'],
  });
  const bOut: Buffer[] = [];
  b.stdout?.on('data', (d: Buffer) => bOut.push(d));
  const bExit = new Promise<number>((resolve) => b.once('exit', (code, sig) => resolve(code ?? (sig ? 128 : 1))));
  const bPort = new Promise<number>((resolve, reject) => {
    let buf = '';
    let found = false;
    b.stderr!.on('data', (d: Buffer) => {
      if (found) return void process.stderr.write(d);
      buf += d.toString('utf8');
      const m = /listening on [^\n]*:([0-9]+)\n/.exec(buf);
      if (m) {
        found = true;
        process.stderr.write(buf.slice(m.index + m[0].length));
        resolve(Number(m[1]));
      }
    });
    b.once('exit', () => {
      if (!found) reject(new Error(`kernel B exited before listening: ${buf.trim()}`));
    });
  });
  // Awaited only once the container runs: a B killed before that (the container ended first) is no error.
  bPort.catch(() => undefined);

  // Kernel A: this process.
  let forward = true;
  const a = new Session({
    profile: o.profile,
    seed: o.seed,
    stdout: (d) => void (web?.output(Buffer.from(d).toString('utf8')), forward && process.stdout.write(d)),
    stderr: (d) => void (web?.output(Buffer.from(d).toString('utf8')), forward && process.stderr.write(d)),
    trace: o.trace ? (line) => void process.stderr.write(`[A] ${line}\n`) : undefined,
  });
  web?.follow(a.kernel);
  // In the background like `nsd dump` (stdin /dev/null), then wait for it.
  installContainer(a.kernel);
  a.start(['/bin/sh', '-c', `${containerStart(o.profile)} ${cmd.map(shellQuote).join(' ')} &\nwait $!`], defaultEnv());
  a.endInput();
  const alive = runFor(a, parseDuration(o.after));
  const root = alive ? containerRoot(a.kernel) : null;
  if (root === null) {
    b.kill('SIGKILL');
    err('nsd migrate: the container ended before the migration (try a shorter --after)\n');
    return 1;
  }
  const interval = parseDuration(o.interval);
  let bar: TransferBar | null = null;
  let res: MigrateOutResult;
  let frozenAt = 0;
  try {
    const sock = await dial('127.0.0.1', await bPort);
    res = await migrateOut(a.kernel, root, sock, {
      maxRounds: o.preCopy ? o.rounds : 0,
      advance: () => runFor(a, interval) && containerRoot(a.kernel) === root,
      leaveRunning: o.leaveRunning,
      lazy: o.lazyPages,
      onRound: (r, st) => {
        err(`${roundLine(`pre-copy round ${r}`, st)}\n`);
        web?.progress({ phase: 'pre-copy', done: r, total: o.rounds, what: roundLine(`round ${r}`, st) });
      },
      onFrozen: (tx, max) => {
        const b0 = (frozenAt = tx.bytes);
        const sent = (n: number) => web?.progress({ phase: 'frozen: transfer', done: n - b0, total: max - b0, what: 'bytes sent (of at most)' });
        sent(b0);
        if (web) tx.onWrite = sent;
        if (!process.stderr.isTTY || max < 16 << 20) return;
        const tb = (bar = new TransferBar(process.stderr, max - b0));
        tx.onWrite = (n) => (tb.update(n - b0), sent(n));
      },
    });
  } catch (e) {
    (bar as TransferBar | null)?.abort();
    err(`nsd migrate: ${e instanceof Error ? e.message : String(e)}\n`);
    err('nsd migrate: the container goes on in kernel A\n');
    b.kill('SIGKILL');
    await drive(a);
    return 1;
  }
  (bar as TransferBar | null)?.finish();
  web?.progress({ phase: 'frozen: transfer', done: res.bytes - frozenAt, total: res.bytes - frozenAt, what: 'bytes sent' });
  web?.progress({ phase: 'restore in B', done: 1, total: 1, what: `running in kernel B after ${ms(res.downtimeMs)} of downtime` });
  err(`${roundLine('stop-and-copy', res.final)}${res.lazy ? `, ${res.final.pagesLazy} left at the source (lazy)` : ''} (+ ${mib(res.imageBytes)} of other images)\n`);
  if (res.lazy) err(`lazy pages: ${res.lazy.gets} GETs served, ${res.lazy.pages} pages, all in B ${ms(res.lazy.ms)} after it started running\n`);
  err(`freeze (dump) ${ms(res.freezeMs)}, downtime ${ms(res.downtimeMs)} (frozen in A → running in B), total ${ms(performance.now() - t0)}, ${mib(res.bytes)} on the wire\n`);
  if (o.leaveRunning) {
    // Remote fork: both run to their end; A's output first, then B's.
    await drive(a);
    const st = await bExit;
    err('nsd migrate: --- the copy in kernel B:\n');
    process.stdout.write(Buffer.concat(bOut));
    return Math.max(a.status ?? 1, st);
  }
  forward = false;
  return bExit;
}

/** Adds `page-server` and `migrate`, and `--page-server` to `dump`. */
export function addMigrateCommands(program: Command): Command {
  modelOptions(
    program
      .command('page-server')
      .description('receive one page-server stream; write its images to DIR and/or restore them here (--restore)')
      .requiredOption('--port <n>', 'TCP port (0: any; the port is printed on stderr)', port)
      .option('--address <addr>', 'address to listen on', '127.0.0.1')
      .option('-D, --images-dir <dir>', 'host directory to write the received images to')
      .option('--restore', 'restore the received tree in this kernel and run it to its end', false)
      .addOption(new Option('-s, --strategy <name>', 'restore strategy (with --restore)').choices([...STRATEGIES]).default('nsd'))
      .option('--lazy-pages', 'with --restore: pages left at the source are fetched (GET) on fault and in the background', false),
  ).action(async (o: ServerFlags) => {
    if (o.lazyPages && !o.restore) throw new InvalidArgumentError('--lazy-pages needs --restore');
    process.exitCode = await pageServer(o);
  });

  modelOptions(
    program
      .command('migrate')
      .description('run CMD as a container in this kernel (A), migrate it to a new kernel process (B) over a page-server stream, and let it finish there')
      .addOption(new Option('-s, --strategy <name>', 'restore strategy in B').choices([...STRATEGIES]).default('nsd'))
      .option('--after <duration>', 'virtual time CMD runs in A before the migration starts', '1')
      .option('--pre-copy', 'send memory in rounds while CMD runs, then only what changed while frozen', false)
      .option('--rounds <n>', 'at most N pre-copy rounds', (v: string) => {
        if (!/^[1-9][0-9]*$/.test(v)) throw new InvalidArgumentError('not a positive integer');
        return Number(v);
      }, 8)
      .option('--interval <duration>', 'virtual time CMD runs between pre-copy rounds', '0.5')
      .option('-R, --leave-running', 'remote fork: keep the original running in A too; both run to their end', false)
      .option('--lazy-pages', 'post-copy: B runs at once and fetches the pages from A on fault and in the background (with or without --pre-copy)', false)
      .option('--web', 'serve a live view of kernel A and the migration progress on 127.0.0.1 (docs/web.md)')
      .argument('<cmd...>', "the container's command (after --)")
      .passThroughOptions(),
  ).action(async (cmd: string[], o: MigrateFlags) => {
    parseDuration(o.after);
    parseDuration(o.interval);
    if (o.lazyPages && o.leaveRunning) throw new InvalidArgumentError('--lazy-pages and --leave-running do not combine (A stays frozen while B fetches its pages)');
    const web = o.web ? await startWebFor(null) : null;
    process.exitCode = await migrate(cmd, o, web);
    if (web) await endWeb(web, `the migration ended (status ${process.exitCode})`);
  });

  const dumpCmd = program.commands.find((c) => c.name() === 'dump');
  if (dumpCmd) {
    dumpCmd
      .option('--page-server', 'also send the images to a page server (nsd page-server)', false)
      .option('--address <addr>', 'page server address (with --page-server)', '127.0.0.1')
      .option('--port <n>', 'page server port (with --page-server)', port);
    dumpCmd.hook('postAction', async (_t, c) => {
      const o = c.opts() as { pageServer?: boolean; address: string; port?: number; imagesDir: string };
      if (!o.pageServer || (process.exitCode !== undefined && process.exitCode !== 0)) return;
      if (o.port === undefined) {
        process.stderr.write('nsd dump: --page-server needs --port\n');
        process.exitCode = 2;
        return;
      }
      try {
        process.exitCode = await sendDir(o.imagesDir, o.address, o.port);
      } catch (e) {
        process.stderr.write(`nsd dump: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exitCode = 1;
      }
    });
  }
  return program;
}
