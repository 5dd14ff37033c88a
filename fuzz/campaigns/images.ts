/**
 * Campaign `images`: checkpoint corruption. Real checkpoints (the demo workload — processes,
 * threads, a queue, semaphores with SEM_UNDO, shm, a pipe, a log — dumped at two points, and a
 * shell container holding dup'ed fds) are corrupted and restored with each strategy:
 *
 *   flip       one to four bits flipped in one image (the manifest included)
 *   truncate   one image cut at a random length
 *   delete     one image removed
 *   duplicate  one image copied under another name (an extra image)
 *   rename     one image moved to another name
 *   remove     re-signed: a field (or a whole entry) removed from nsd-extra.img or nsd-extra-1.img,
 *              the image's SHA-256 and the manifest recomputed
 *   range      re-signed: a field set to a value of the wrong type or out of every range, or an
 *              entry's key made invalid
 *
 * Each case must either be refused with a CrError naming the image, with the kernel's snapshot
 * unchanged, or restore a state identical to the uncorrupted restore's. Anything else (a different
 * state, a non-CrError exception, a message naming no image, a changed kernel) is a failure.
 * Not mutated: the program's own state (`prog.data`), a parked call's arguments, data and result
 * value — opaque to the engine (only the program knows their shape), so a change there is a
 * different checkpoint, not a corrupt one.
 */
import { isDeepStrictEqual } from 'node:util';
import { CLONE_NEWIPC, CLONE_NEWPID, O_RDWR, SIGCHLD } from '../../src/abi/constants.js';
import { Kernel } from '../../src/syscalls/scheduler.js';
import type { KernelState } from '../../src/kernel/state.js';
import type { ProgramDef } from '../../src/syscalls/program.js';
import { installUserland } from '../../src/userland/index.js';
import { CrError, dump, restore, STRATEGIES, MANIFEST, writeManifest, type StrategyName } from '../../src/cr/index.js';
import { readNsdExtra, writeNsdExtra, type NsdExtraEntry } from '../../src/cr/image/index.js';
import { decodePlain, encodePlain } from '../../src/cr/plain.js';
import { DEMO_JOB, DEMO_JOB_PATH } from '../../src/cr/demo-workload.js';
import { rng, type Campaign, type CampaignFailure } from '../lib.js';

export const KINDS = ['flip', 'truncate', 'delete', 'duplicate', 'rename', 'remove', 'range'] as const;
type Kind = (typeof KINDS)[number];
/** Cases per kind and restore strategy at scale 1 (7 kinds: 1,400 per strategy). */
const PER_KIND = 200;


interface Base {
  name: string;
  images: Map<string, Uint8Array>;
  /** The target kernel right after the dump (the container killed and reaped). */
  state: KernelState;
  /** Its program code (the state names programs). */
  programs: ProgramDef<unknown>[];
  /** Per strategy, the state after restoring the intact images. */
  restored: Map<StrategyName, KernelState>;
}

function boot(): Kernel {
  const k = new Kernel({ profile: 'linux-6' });
  installUserland(k);
  k.installProgram(DEMO_JOB, DEMO_JOB_PATH);
  const sys = k.init.sys;
  sys.mkdir('/var/log', 0o755);
  sys.open('/dev/null', O_RDWR);
  sys.dup(0);
  sys.dup(0);
  return k;
}

function makeBase(name: string, start: (k: Kernel) => number, steps: number): Base {
  const k = boot();
  const pid = start(k);
  k.run({ maxSteps: steps });
  if (!k.task(pid)?.alive) throw new Error(`base ${name}: the container ended within ${steps} steps`);
  const d = dump(k, pid);
  k.run({ until: () => !k.task(pid)?.alive });
  k.init.sys.wait4(pid, 0);
  const state = k.snapshot();
  const restored = new Map<StrategyName, KernelState>();
  for (const s of STRATEGIES) {
    const kk = Kernel.fromState(state, { programs: k.programs.values() });
    restore(kk, d.images, { strategy: s });
    restored.set(s, kk.snapshot());
  }
  return { name, images: d.images, state, programs: [...k.programs.values()], restored };
}

function container(k: Kernel, path: string, argv: string[]): number {
  const pid = k.init.sys.clone(CLONE_NEWPID | CLONE_NEWIPC | SIGCHLD);
  k.task(pid)!.sys.execve(path, argv);
  return pid;
}

function bases(): Base[] {
  const demo = (k: Kernel): number => container(k, DEMO_JOB_PATH, ['cr-demo-job', '8']);
  const dups = (k: Kernel): number =>
    container(k, '/bin/sh', ['sh', '-c', 'exec 3>&1; exec 5>/tmp/a; exec 6>&5; echo one >&6; sleep 3 & sleep 2; echo two >&5; exec 7<&5; echo three >&3; wait']);
  return [makeBase('demo@20', demo, 20), makeBase('demo@60', demo, 60), makeBase('sh-dups@4', dups, 4)];
}

// ---- mutations ----

type Rng = () => number;
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

/** Another plausible image name (the same name with a digit changed, or a suffix). */
function otherName(r: Rng, name: string, taken: ReadonlyMap<string, unknown>): string {
  for (let i = 0; i < 20; i++) {
    const n = r() < 0.5 && /\d/.test(name) ? name.replace(/\d+/, String(Math.floor(r() * 30))) : name.replace(/(\.img|\.json)$/, `-${Math.floor(r() * 9)}$1`);
    if (!taken.has(n)) return n;
  }
  return `x-${name}`;
}

/** Paths (into a decoded entry value) the campaign may corrupt: everything but program-owned data. */
function paths(v: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  const opaque = at.length >= 2 && ((at[0] === 'prog' && at[1] === 'data') || (at[0] === 'blocked' && (at[1] === 'data' || at[1] === 'call' && at[2] === 'args' || at[1] === 'result' && at[2] === 'value')) || (at[0] === 'prog' && at[1] === 'result' && at[2] === 'value'));
  if (opaque) return out;
  if (at.length > 0) out.push(at);
  if (v instanceof Uint8Array || v instanceof Map || v instanceof Set || v === null || typeof v !== 'object') return out;
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}

function parentOf(root: Record<string, unknown>, path: (string | number)[]): [Record<string | number, unknown>, string | number] {
  let cur = root as Record<string | number, unknown>;
  for (const p of path.slice(0, -1)) cur = cur[p] as Record<string | number, unknown>;
  return [cur, path.at(-1)!];
}

/** A value no field of its kind accepts: the wrong type, or out of every range the schema allows. */
function badValue(r: Rng, v: unknown): unknown {
  if (typeof v === 'number') return pick(r, [-1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -1e300, 'x', true, [1]]);
  if (typeof v === 'bigint') return pick(r, [1n << 64n, -(1n << 64n), 'x', 1.5]);
  if (typeof v === 'string') return pick(r, [7, true, -1, [v], { v }]);
  if (typeof v === 'boolean') return pick(r, [0, 1, 'true', [v]]);
  if (v instanceof Uint8Array) return pick(r, [7, 'x', [1, 2]]);
  // null (of a nullable field whose other type is not known here), a list, an object.
  return pick(r, ['x', true, -1.5]);
}

/** A re-signed nsd-extra image: entries edited, SHA-256 recomputed, manifest re-made. */
function resign(r: Rng, images: Map<string, Uint8Array>, kind: 'remove' | 'range', only: (name: string) => boolean): { out: Map<string, Uint8Array>; what: string; target: string } {
  const extras = [...images.keys()].filter((n) => n.startsWith('nsd-extra') && only(n)).sort();
  const target = pick(r, extras);
  const { entries, head } = readNsdExtra(images.get(target)!, target);
  const i = Math.floor(r() * entries.length);
  const e = entries[i]!;
  let changed: NsdExtraEntry[];
  let what: string;
  const value = decodePlain(e.json ?? 'null') as Record<string, unknown>;
  const ps = paths(value);
  if (kind === 'remove' && (r() < 0.1 || !ps.some((p) => typeof p.at(-1) === 'string'))) {
    changed = entries.filter((_, j) => j !== i);
    what = `entry ${e.section}/${e.key} removed`;
  } else if (kind === 'range' && r() < 0.1) {
    const key = pick(r, ['-1', 'x', '1.5', '', '99999', '007']);
    changed = entries.map((x, j) => (j === i ? { ...x, key } : x));
    what = `entry ${e.section}/${e.key}: key set to ${JSON.stringify(key)}`;
  } else {
    const fields = kind === 'remove' ? ps.filter((p) => typeof p.at(-1) === 'string') : ps;
    if (fields.length === 0) return resign(r, images, kind, only);
    const path = pick(r, fields);
    const [parent, key] = parentOf(value, path);
    if (kind === 'remove') {
      delete parent[key];
      what = `entry ${e.section}/${e.key}: field ${path.join('.')} removed`;
    } else {
      const bad = badValue(r, parent[key]);
      parent[key] = bad;
      what = `entry ${e.section}/${e.key}: field ${path.join('.')} set to ${String(typeof bad === 'bigint' ? `${bad}n` : JSON.stringify(bad) ?? bad)}`;
    }
    changed = entries.map((x, j) => (j === i ? { ...x, json: encodePlain(value) } : x));
  }
  const out = new Map(images);
  out.set(target, writeNsdExtra(changed, head.producer));
  out.set(MANIFEST, writeManifest(out));
  return { out, what: `${target}: ${what}`, target };
}

function mutate(r: Rng, images: Map<string, Uint8Array>, kind: Kind, only: (name: string) => boolean): { out: Map<string, Uint8Array>; what: string; target: string } {
  if (kind === 'remove' || kind === 'range') return resign(r, images, kind, only);
  const names = [...images.keys()].filter(only).sort();
  const target = pick(r, names);
  const bytes = images.get(target)!;
  const out = new Map(images);
  switch (kind) {
    case 'flip': {
      if (bytes.length === 0) return mutate(r, images, kind, only);
      const b = bytes.slice();
      const n = 1 + Math.floor(r() * 4);
      const at: number[] = [];
      for (let i = 0; i < n; i++) {
        const bit = Math.floor(r() * b.length * 8);
        b[bit >> 3]! ^= 1 << (bit & 7);
        at.push(bit);
      }
      out.set(target, b);
      return { out, what: `${target}: bits ${at.join(',')} flipped`, target };
    }
    case 'truncate': {
      if (bytes.length === 0) return mutate(r, images, kind, only);
      const len = Math.floor(r() * bytes.length);
      out.set(target, bytes.subarray(0, len));
      return { out, what: `${target}: cut to ${len} of ${bytes.length} bytes`, target };
    }
    case 'delete':
      out.delete(target);
      return { out, what: `${target}: deleted`, target };
    case 'duplicate': {
      const to = otherName(r, target, images);
      out.set(to, bytes);
      return { out, what: `${target}: copied to ${to}`, target: to };
    }
    case 'rename': {
      const to = otherName(r, target, images);
      out.delete(target);
      out.set(to, bytes);
      return { out, what: `${target}: renamed to ${to}`, target };
    }
  }
}

// ---- the campaign ----

/** Why a refusal's message is not acceptable, or null. */
function badRefusal(e: unknown, target: string): string | null {
  if (!(e instanceof CrError)) return `not a CrError: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`;
  if (!/[A-Za-z0-9_.*-]+\.(img|json)/.test(e.message)) return `the refusal names no image: ${e.message}`;
  if (!e.message.includes(target) && !e.message.includes(MANIFEST) && target !== MANIFEST) return `the refusal does not name ${target}: ${e.message}`;
  return null;
}

export interface ImagesCounts {
  [key: string]: number;
}

export interface ImagesOptions {
  strategies?: readonly StrategyName[];
  /** Which images may be corrupted (default: all). */
  images?: (name: string) => boolean;
}

export function runImages(seed: number, scale: number, log: (l: string) => void, only: ImagesOptions = {}): { counts: ImagesCounts; failures: CampaignFailure[] } {
  const bs = bases();
  const r = rng(seed);
  const failures: CampaignFailure[] = [];
  const counts: ImagesCounts = {};
  const refusals = new Set<string>();
  const n = Math.max(1, Math.round(PER_KIND * scale));
  const strategies = only.strategies ?? STRATEGIES;
  const which = only.images ?? ((): boolean => true);
  for (const strategy of strategies) {
    let refused = 0;
    let identical = 0;
    for (const kind of KINDS) {
      for (let i = 0; i < n; i++) {
        const base = pick(r, bs);
        const id = `${strategy} ${kind} #${i} (${base.name}, seed ${seed})`;
        let m;
        try {
          m = mutate(r, base.images, kind, which);
        } catch (e) {
          failures.push({ case: id, message: `mutation failed: ${e instanceof Error ? e.message : String(e)}` });
          continue;
        }
        const k = Kernel.fromState(base.state, { programs: base.programs });
        try {
          restore(k, m.out, { strategy });
        } catch (e) {
          const why = badRefusal(e, m.target);
          refusals.add(e instanceof CrError ? e.message.replace(/\d+/g, 'N') : '');
          if (why) failures.push({ case: `${id}: ${m.what}`, message: why });
          else if (!isDeepStrictEqual(k.snapshot(), base.state)) failures.push({ case: `${id}: ${m.what}`, message: `refused (${(e as Error).message}) but the kernel changed` });
          else refused++;
          continue;
        }
        if (!isDeepStrictEqual(k.snapshot(), base.restored.get(strategy))) {
          failures.push({ case: `${id}: ${m.what}`, message: 'restored, but not the state the intact images restore' });
        } else {
          identical++;
          log(`restored identically: ${id}: ${m.what}`);
        }
      }
      log(`${strategy} ${kind}: ${n} cases`);
    }
    counts[`${strategy} cases`] = refused + identical + failures.filter((f) => f.case.startsWith(`${strategy} `)).length;
    counts[`${strategy} refused`] = refused;
    counts[`${strategy} identical`] = identical;
  }
  counts['distinct refusal messages'] = refusals.size;
  return { counts, failures };
}

export const campaign: Campaign = {
  name: 'images',
  description: `checkpoint corruption (${KINDS.join(', ')}) × each restore strategy: refused naming the image with the kernel unchanged, or restored identically`,
  run({ seed, scale, log }) {
    return runImages(seed, scale, log);
  },
};
