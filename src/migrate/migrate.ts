/**
 * Design note: migrating a process tree from this kernel (A) to another one (B) over a page-server
 * stream — the library under `nsd migrate` (docs/migration.md).
 *
 * Source (`migrateOut`):
 *   1. pre-copy (optional): pre-dump rounds (src/cr/predump.ts: the pages soft-dirty since the last
 *      round, read through /proc/PID/pagemap) while the tree keeps running (`advance` lets the
 *      workload run between rounds); go-criu phaul's stop rule (`shouldStopIterating`), at most
 *      `maxRounds`;
 *   2. freeze: `dump(…, leaveRunning)` — the tree is read frozen and thawed, but this kernel is not
 *      stepped again until B has answered, so it stays stopped (CRIU keeps it frozen the same way);
 *   3. the last round (the final dump with --track-mem: pages dirtied since the last pre-dump as ADD,
 *      the rest HOLE) and every
 *      image as FILE frames; CLOSE;
 *   4. B answers CLOSE once the tree runs there (status 0): A kills its copy, unless
 *      `leaveRunning` (remote fork). Any failure before that (B died, B refused, the stream broke)
 *      throws, and A's tree is untouched: the caller lets it run on.
 * Destination (`serveMigration`): receives a complete stream, joins the pages back, and calls
 * `restore(images)`; its return value answers CLOSE. A stream that breaks off is discarded whole.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { SIGKILL } from '../abi/constants.js';
import type { Kernel } from '../syscalls/scheduler.js';
import { dump } from '../cr/dump.js';
import { PageSender } from './sender.js';
import { preDump } from '../cr/predump.js';
import type { ShmTracker } from '../cr/shm-rounds.js';
import { shouldStopIterating } from '../cr/pagemap.js';
import { sendRound, splitImages, joinImages, type RoundStats } from './pages.js';
import { receiveStream, type Received } from './receiver.js';
import { LazySource, serveGets, type GetStats } from './lazy.js';

export interface MigrateOutOptions {
  /** Pre-copy rounds before the freeze (0: cold stop-and-copy). */
  maxRounds?: number;
  /** Lets the workload run between pre-copy rounds; returns false when the tree has ended. */
  advance?: () => boolean;
  /** Also send the files the tree has open and its working directories (default true). */
  withFs?: boolean;
  /** Remote fork: keep the tree running here after B confirms. */
  leaveRunning?: boolean;
  onRound?: (round: number, st: RoundStats) => void;
  /** Called once the tree is frozen with the bytes the last round may send at most. */
  onFrozen?: (tx: PageSender, maxBytes: number) => void;
  /**
   * Post-copy (`--lazy-pages`): the last round leaves the pages that hold data at the source
   * (PE_LAZY); once B runs the tree, this serves B's GETs from the frozen tree's pages until B has
   * them all (src/migrate/lazy.ts). Combines with pre-copy rounds.
   */
  lazy?: boolean;
  /** With `lazy`: called when B runs the tree, before the GETs are served. */
  onRunning?: () => void;
}

export interface MigrateOutResult {
  rounds: RoundStats[];
  /** The last round (pages sent while frozen) and the images. */
  final: RoundStats;
  imageBytes: number;
  /** ms: dump while frozen; freeze → B answered; whole call. */
  freezeMs: number;
  downtimeMs: number;
  totalMs: number;
  bytes: number;
  /** With `lazy`: the GETs served after B started running, and how long until B had every page. */
  lazy?: GetStats & { ms: number };
}

/** The name pre-dump rounds give their parent (the stream drops it: the parent is the earlier round). */
const PARENT = 'parent-round';

export class MigrationError extends Error {
  constructor(why: string) {
    super(`migrate: ${why}`);
    this.name = 'MigrationError';
  }
}

export async function migrateOut(k: Kernel, rootPid: number, sock: Socket, opts: MigrateOutOptions = {}): Promise<MigrateOutResult> {
  const t0 = performance.now();
  const tx = new PageSender(sock);
  const rounds: RoundStats[] = [];
  const maxRounds = opts.maxRounds ?? 0;
  // The shm segments' times from one round to the next (src/cr/shm-rounds.ts).
  const shm: ShmTracker = { segments: null };
  for (let r = 1; r <= maxRounds; r++) {
    // A pre-dump round: pages soft-dirty since the last round (all present pages the first time).
    const pd = preDump(k, rootPid, { parent: r === 1 ? null : PARENT, shm });
    const st = await sendRound(tx, splitImages(pd.images).pagemaps);
    rounds.push(st);
    opts.onRound?.(r, st);
    if (opts.advance && !opts.advance()) throw new MigrationError('the tree ended during pre-copy: nothing to migrate');
    if (shouldStopIterating(rounds.map((x) => x.pagesData + x.pagesZero)) || r === maxRounds) break;
  }
  const tFreeze = performance.now();
  const d = dump(k, rootPid, {
    leaveRunning: true,
    withFs: opts.withFs ?? true,
    // The last round: nothing is dumped after it, so soft-dirty is not reset (no --track-mem), and a
    // cold migration needs no tracking at all (a kernel without soft-dirty can still be left).
    memory: { parent: rounds.length > 0 ? PARENT : null, trackMem: false, shm },
  });
  const freezeMs = performance.now() - tFreeze;
  const { files, pagemaps } = splitImages(d.images);
  let max = tx.bytes;
  for (const b of files.values()) max += b.length + 64;
  for (const pm of pagemaps) for (const r of pm.runs) max += (r.data?.length ?? 0) * (1 + 24 / 4096) + 64;
  opts.onFrozen?.(tx, Math.ceil(max));
  const final = await sendRound(tx, pagemaps, opts.lazy === true);
  const b0 = tx.bytes;
  for (const [name, data] of files) await tx.file(name, data);
  const imageBytes = tx.bytes - b0;
  const status = await tx.close(opts.lazy === true);
  const tRunning = performance.now();
  if (status !== 0) throw new MigrationError(`the destination could not restore (status ${status}); the tree goes on here`);
  let lazy: MigrateOutResult['lazy'];
  if (opts.lazy) {
    opts.onRunning?.();
    // B runs the tree and fetches the rest from here; this kernel is not stepped meanwhile, so the
    // tree stays frozen. If B goes away now, its copy has already run: A's copy is not resumed.
    try {
      lazy = { ...(await serveGets(tx, new LazySource(pagemaps))), ms: performance.now() - tRunning };
    } catch (e) {
      throw new MigrationError(`the destination went away during the lazy restore (${e instanceof Error ? e.message : String(e)}); the tree had already run there, so it is not resumed here`);
    }
  }
  if (!opts.leaveRunning) {
    // B runs the tree: end A's copy (its init; the namespace goes with it).
    const t = k.task(rootPid);
    if (t && t.state.state !== 'zombie' && t.state.state !== 'dead') k.init.sys.kill(k.pidIn(t.state.kid, k.init.kid), SIGKILL);
  }
  return { rounds, final, imageBytes, freezeMs, downtimeMs: tRunning - tFreeze, totalMs: performance.now() - t0, bytes: tx.bytes, ...(lazy ? { lazy } : {}) };
}

export interface ServeOptions {
  /** Restores the joined images; its number answers CLOSE (0: running). */
  restore: (images: Map<string, Uint8Array>, got: Received) => number | Promise<number>;
  onBytes?: (n: number) => void;
  /**
   * Join the pages into images (default true). A server that neither keeps nor restores them
   * (`nsd page-server` without -D or --restore) skips it: joining copies every page once.
   */
  join?: boolean;
  /**
   * Give the joined images a manifest (default true). A server that only restores them in this
   * process (with `imagesChecked`) skips it: two SHA-256 passes over every page saved.
   */
  manifest?: boolean;
}

/** Serves one migration stream on `sock`. Rejects (and restores nothing) on a bad or broken stream. */
export function serveMigration(sock: Duplex, opts: ServeOptions): Promise<Received> {
  return receiveStream(sock, { onBytes: opts.onBytes, onComplete: (got) => opts.restore(opts.join === false ? new Map(got.files) : joinImages(got, false, opts.manifest !== false), got) });
}
