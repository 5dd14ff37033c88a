/**
 * Design note: the `npm start` demo. One kernel boots; a container (clone with CLONE_NEWPID |
 * CLONE_NEWIPC, like `unshare --pid --ipc --fork`) runs the demo workload (demo-workload.ts:
 * producer, two two-threaded workers, a queue, a semaphore-guarded counter in shm, a log, a pipe).
 * Mid-run the demo shows ps, ipcs and fd tables with the model's own utilities, takes a copy of
 * the kernel (the reference: the same run, never interrupted), dumps the container with a progress
 * bar, which kills it, then restores it with each strategy into its own copy of the kernel after
 * the dump. It prints a side-by-side table of what the container can observe (pids, IPC ids, IPC
 * state right after the restore: original vs each strategy, `*` where a strategy lost the value),
 * lets every restored run finish and compares its log with the reference's (OK / DIFFERENT).
 */
import cliProgress from 'cli-progress';
import {
  CLONE_NEWIPC, CLONE_NEWPID, GETALL, GETPID, IPC_STAT, O_RDONLY, O_RDWR, SIGCHLD, WNOHANG,
} from '../abi/constants.js';
import { Kernel } from '../syscalls/scheduler.js';
import type { Sys } from '../syscalls/sys.js';
import type { ProfileName } from '../kernel/profile.js';
import { installUserland } from '../userland/index.js';
import { readDir } from '../userland/lib/files.js';
import { dump, DUMP_STEPS } from './dump.js';
import { restore } from './restore.js';
import { STRATEGIES, getStrategy, type StrategyName } from './strategy.js';
import { DEMO_JOB, DEMO_JOB_PATH, DEMO_KEY, DEMO_LOG } from './demo-workload.js';
import { installCr } from './tool.js';

export interface DemoOptions {
  /** Draw a progress bar (a TTY); otherwise plain progress lines. */
  tty?: boolean;
  /** Jobs the producer sends (default 12). */
  jobs?: number;
  profile?: ProfileName;
  /** Progress of the dump and of each restore as it happens (the web view sends it live). */
  onProgress?: (p: DemoProgress) => void;
}

/** One step of the dump or of a restore: `total` 0 while a restore runs (its step count is known at the end). */
export interface DemoProgress {
  phase: string;
  done: number;
  total: number;
  what: string;
}

export type Verdict = 'OK' | 'DIFFERENT';

export interface DemoResult {
  /** Per strategy the profile supports: the restored run's log equals the uninterrupted run's. */
  verdicts: Partial<Record<StrategyName, Verdict>>;
  /** The side-by-side table: header row, then one row per field (lost values end in `*`). */
  table: string[][];
  /** The uninterrupted run's log. */
  log: string;
}

const dec = new TextDecoder();

/** Boots a kernel with the userland, cr and the demo workload; fds 0-2 of init are the demo's output. */
function boot(profile: ProfileName, sink: (s: string) => void): Kernel {
  const k = new Kernel({ profile });
  k.devices.set('console', { read: () => new Uint8Array(0), write: (_k, b) => (sink(dec.decode(b)), b.length) });
  installUserland(k);
  installCr(k);
  k.installProgram(DEMO_JOB, DEMO_JOB_PATH);
  const sys = k.init.sys;
  for (const d of ['/var', '/var/log']) {
    try {
      sys.mkdir(d, 0o755);
    } catch {
      // exists
    }
  }
  sys.open('/dev/console', O_RDWR);
  sys.dup(0);
  sys.dup(0);
  return k;
}

/** Runs a utility as a child of init (from the initial namespaces) until it exits. */
function runTool(k: Kernel, path: string, argv: string[]): void {
  const pid = k.init.sys.fork();
  const t = k.task(pid)!;
  t.sys.execve(path, argv);
  k.run({ until: () => !t.alive });
  k.init.sys.wait4(pid, 0);
}

/** A file's text ('' when it does not exist yet). */
function readFile(sys: Sys, path: string): string {
  let fd: number;
  try {
    fd = sys.open(path, O_RDONLY);
  } catch {
    return '';
  }
  let s = '';
  for (let b = sys.read(fd, 65536); b.length > 0; b = sys.read(fd, 65536)) s += dec.decode(b);
  sys.close(fd);
  return s;
}

/** One process's fd table, as /proc shows it to init. */
function fdTable(k: Kernel, pid: number): string {
  const sys = k.init.sys;
  const fds = readDir(sys, `/proc/${pid}/fd`).filter((n) => /^\d+$/.test(n)).map(Number).sort((a, b) => a - b);
  const cells = fds.map((fd) => {
    const info = readFile(sys, `/proc/${pid}/fdinfo/${fd}`);
    const pos = /^pos:\s+(\d+)/m.exec(info)?.[1] ?? '?';
    const flags = /^flags:\s+(\d+)/m.exec(info)?.[1] ?? '?';
    return `${fd}=${sys.readlink(`/proc/${pid}/fd/${fd}`)} (pos ${pos}, flags ${flags})`;
  });
  return `pid ${pid}: ${cells.join('  ')}\n`;
}

/** Runs the kernel until the container's init (pid in the initial namespace) has exited. */
function finish(k: Kernel, rootPid: number): void {
  const t = k.task(rootPid)!;
  k.run({ until: () => !t.alive });
  k.init.sys.wait4(rootPid, WNOHANG);
}

/** What the container can observe, field by field, as the container's init sees it. */
function observe(k: Kernel, rootPid: number): Map<string, string> {
  const m = new Map<string, string>();
  const root = k.task(rootPid)!;
  const sys = root.sys;
  const ns = root.state.pidns;
  const inside: string[] = [];
  for (const [nr, kid] of [...k.pidNs(ns).pids].sort((a, b) => a[0] - b[0])) {
    const t = k.s.tasks.get(kid);
    if (!t || t.state === 'dead') continue;
    inside.push(t.tgid === kid ? `${nr}` : `${nr}(thr)`);
  }
  m.set('pid of init, outside', String(rootPid));
  m.set('pids inside', inside.join(' '));
  const q = sys.msgget(DEMO_KEY, 0);
  const s = sys.semget(DEMO_KEY + 1, 0, 0);
  const shm = sys.shmget(DEMO_KEY + 2, 0, 0);
  m.set('ids msg/sem/shm', `${q}/${s}/${shm}`);
  const mq = sys.msgctl(q, IPC_STAT);
  m.set('msg qnum', String(mq.msg_qnum));
  m.set('msg lspid/lrpid', `${mq.msg_lspid}/${mq.msg_lrpid}`);
  m.set('msg stime/rtime', `${mq.msg_stime}/${mq.msg_rtime}`);
  m.set('msg ctime', String(mq.msg_ctime));
  const sd = sys.semctl(s, 0, IPC_STAT);
  m.set('sem values', (sys.semctl(s, 0, GETALL) as number[]).join(','));
  m.set('sem sempid', [0, 1].map((i) => String(sys.semctl(s, i, GETPID))).join(','));
  m.set('sem otime', String(sd.sem_otime));
  const sh = sys.shmctl(shm, IPC_STAT);
  m.set('shm nattch', String(sh.shm_nattch));
  m.set('shm cpid/lpid', `${sh.shm_cpid}/${sh.shm_lpid}`);
  m.set('shm atime', String(sh.shm_atime));
  const undo: string[] = [];
  for (const [nr, kid] of [...k.pidNs(ns).pids].sort((a, b) => a[0] - b[0])) {
    const t = k.s.tasks.get(kid);
    if (!t || t.tgid !== kid || t.state === 'zombie') continue;
    const text = readFile(sys, `/proc/${nr}/semundo`).trim();
    if (text) undo.push(`${nr}: ${text.replace(/\n/g, '; ')}`);
  }
  m.set('SEM_UNDO', undo.join(' | ') || '-');
  return m;
}

/** Pads a table into aligned text. */
function formatTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n';
}

/** Fields that necessarily differ after a restore into another kernel (not losses). */
const NECESSARILY_DIFFERENT = new Set(['pid of init, outside']);

export function runDemo(out: (s: string) => void, opts: DemoOptions = {}): DemoResult {
  const jobs = opts.jobs ?? 12;
  const profile = opts.profile ?? 'linux-6';
  out(`# Booting a ${profile} kernel; starting a container (clone CLONE_NEWPID|CLONE_NEWIPC) running ${DEMO_JOB_PATH} ${jobs}:\n`);
  out('#   a producer and two workers (two threads each) share a queue; a semaphore guards a counter in shm;\n');
  out(`#   workers report on a pipe; the container's init copies the pipe into ${DEMO_LOG}.\n\n`);
  const k = boot(profile, out);
  const rootPid = k.init.sys.clone(CLONE_NEWPID | CLONE_NEWIPC | SIGCHLD);
  k.task(rootPid)!.sys.execve(DEMO_JOB_PATH, ['cr-demo-job', String(jobs)]);
  const half = Math.ceil(jobs / 2);
  k.run({ until: () => readFile(k.init.sys, DEMO_LOG).split('\n').filter((l) => l.includes('-> counter')).length >= half });

  out(`$ ps -T -o pid,tid,ppid,stat,args        # from the initial namespace, mid-run\n`);
  runTool(k, '/bin/ps', ['ps', '-T', '-o', 'pid,tid,ppid,stat,args']);
  out(`\n$ nsenter -t ${rootPid} --ipc ipcs\n`);
  runTool(k, '/bin/nsenter', ['nsenter', '-t', String(rootPid), '--ipc', 'ipcs']);
  const procs = [...k.s.procs.values()].filter((p) => k.t(p.tgid).pidns === k.task(rootPid)!.state.pidns).map((p) => p.tgid).sort((a, b) => a - b);
  out('\n# fd tables (readlink /proc/PID/fd/N, pos and flags from /proc/PID/fdinfo/N)\n');
  for (const pid of procs) out(fdTable(k, pid));

  // The reference: the same kernel, never interrupted.
  const reference = Kernel.fromState(k.snapshot(), { programs: k.programs.values() });
  const original = observe(k, rootPid);

  out(`\n$ cr dump -t ${rootPid} -D /images     # freeze, read, write images, kill\n`);
  const bar = opts.tty ? new cliProgress.SingleBar({ format: 'dump [{bar}] {value}/{total} {step}', hideCursor: true }, cliProgress.Presets.shades_classic) : null;
  bar?.start(DUMP_STEPS.length, 0, { step: '' });
  const d = dump(k, rootPid, {
    onProgress: (done, total, what) => {
      if (bar) bar.update(done, { step: what });
      else out(`dump: [${done}/${total}] ${what}\n`);
      opts.onProgress?.({ phase: 'dump', done, total, what });
    },
  });
  bar?.update(DUMP_STEPS.length, { step: 'done' });
  bar?.stop();
  let bytes = 0;
  for (const b of d.images.values()) bytes += b.length;
  out(`dumped ${d.processes} processes, ${d.tasks} threads into ${d.images.size} images (${bytes} bytes): ${[...d.images.keys()].join(' ')}\n`);
  k.run({ until: () => !k.task(rootPid)!.alive });
  k.init.sys.wait4(rootPid, WNOHANG);
  out(`the container is gone: pid ${rootPid} ${k.task(rootPid) ? 'still exists' : 'reaped'}\n`);
  const afterDump = k.snapshot();

  finish(reference, rootPid);
  const refLog = readFile(reference.init.sys, DEMO_LOG);

  const columns: Array<{ name: string; obs: Map<string, string>; log: string }> = [];
  for (const strategy of STRATEGIES) {
    const kk = Kernel.fromState(afterDump, { programs: k.programs.values() });
    const why = getStrategy(strategy).unsupported(kk);
    if (why !== null) {
      out(`\n$ cr restore -D /images --strategy ${strategy}\n# not on ${profile}: ${why}\n`);
      continue;
    }
    const phase = `restore --strategy ${strategy}`;
    const r = restore(kk, d.images, { strategy, onProgress: opts.onProgress && ((done, what) => opts.onProgress!({ phase, done, total: 0, what })) });
    opts.onProgress?.({ phase, done: r.steps, total: r.steps, what: `restored as pid ${r.rootPid}` });
    out(`\n$ cr restore -D /images --strategy ${strategy}\n`);
    out(`restored as pid ${r.rootPid}; ${r.report.length === 0 ? 'every saved field restored' : `${r.report.length} saved fields could not be restored:`}\n`);
    for (const line of r.report) out(`  ${line.object} ${line.field}: saved ${line.saved}, got ${line.restored}\n`);
    const obs = observe(kk, r.rootPid);
    finish(kk, r.rootPid);
    columns.push({ name: strategy, obs, log: readFile(kk.init.sys, DEMO_LOG) });
  }

  const table: string[][] = [['', 'original', ...columns.map((c) => c.name)]];
  for (const [field, value] of original) {
    table.push([
      field,
      value,
      ...columns.map((c) => {
        const v = c.obs.get(field) ?? '?';
        return v !== value && !NECESSARILY_DIFFERENT.has(field) ? `${v}*` : v;
      }),
    ]);
  }
  out('\n# What the container can observe right after the restore (* = lost by that strategy):\n');
  out(formatTable(table));

  out(`\n# Each restored run finished; its ${DEMO_LOG} against the uninterrupted run's:\n`);
  const verdicts: Partial<Record<StrategyName, Verdict>> = {};
  for (const c of columns) {
    verdicts[c.name as StrategyName] = c.log === refLog ? 'OK' : 'DIFFERENT';
    out(`${c.name.padEnd(9)} ${verdicts[c.name as StrategyName]}\n`);
  }
  const lines = refLog.trimEnd().split('\n');
  out(`\n# The uninterrupted log (${lines.length} lines), last lines:\n${lines.slice(-4).join('\n')}\n`);
  return { verdicts, table, log: refLog };
}
