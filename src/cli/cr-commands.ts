/**
 * The host-side checkpoint/restart verbs: `nsd dump`, `nsd restore`, `nsd show`, `nsd check`.
 *
 * Design note. Images live on the host, the work happens in the model: dump and restore boot a
 * fresh kernel, bind the host images directory at /nsd-images (--bind's copy-in/copy-out, see
 * bind.ts) and run the in-model `cr` through the model's shell, so one `nsd` process can restore
 * what another dumped:
 *
 *   nsd dump -D DIR [--after 2s] [--leave-running] [--with-fs] [--track-mem] -- CMD [ARGS...]
 *       starts CMD as a container (`unshare --pid --ipc --fork CMD ARGS`; on linux-2.6.26, which has
 *       no unshare(CLONE_NEWPID), /sbin/nsd-container: clone(CLONE_NEWPID|CLONE_NEWIPC)), lets it
 *       run for --after of virtual time (refused unless sleep syntax), then
 *       `cr dump -t <its init> -D /nsd-images` (messages name the host DIR, not /nsd-images);
 *   nsd restore -D DIR [--strategy S] [-v] [--ipc-only] [-- CMD [ARGS...]]
 *       `cr restore -D /nsd-images`: without CMD, waits for the restored init (its output goes to
 *       this terminal) and exits with its status; with CMD, restores detached, runs CMD with
 *       $CR_PID set to the restored init (or the IPC holder) and then waits for the restored init.
 *       --ipc-only without CMD shows the restored namespace with `nsenter -t $CR_PID --ipc ipcs`;
 *   nsd pre-dump -D DIR [--after 1s] [--rounds N] [--interval 1s] -- CMD [ARGS...]
 *       as dump, with N `cr pre-dump` rounds (DIR/1 … DIR/N, each the parent of the next) before
 *       the final `cr dump --prev-images-dir N --track-mem` into DIR: `nsd restore -D DIR` follows
 *       the chain;
 *   nsd show FILE|DIR      decodes host image files to JSON, like `crit show` (no kernel); a
 *       directory that is part of a pre-dump chain shows `{ chain, images }`;
 *   nsd check              `cr check` in a fresh kernel of the chosen profile.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { accessSync, constants as fsConstants, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { readBytes } from './files.js';
import { CLONE_NEWIPC, CLONE_NEWPID, SIGCHLD } from '../abi/constants.js';
import { PROFILES, type ProfileName } from '../kernel/profile.js';
import type { Kernel } from '../syscalls/scheduler.js';
import { defineProgram } from '../userland/lib/program.js';
import { runCommand, type RunCommandState } from '../userland/lib/process.js';
import { parseDuration } from '../userland/utils/duration.js';
import { showImage } from '../cr/image/index.js';
import { STRATEGIES } from '../cr/strategy.js';
import { copyIn, copyOut, parseBind } from './bind.js';
import { Session, defaultEnv } from './session.js';

/** Where the commands write and how they report their exit status (the process by default; tests capture). */
export interface CrCommandIo {
  stdout(text: string | Uint8Array): void;
  stderr(text: string | Uint8Array): void;
  exit(status: number): void;
}

const PROCESS_IO: CrCommandIo = {
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => void process.stderr.write(t),
  exit: (s) => {
    process.exitCode = s;
  },
};

/** The images directory inside the model. */
export const IMAGES_PATH = '/nsd-images';

/**
 * `/sbin/nsd-container CMD [ARGS...]`: runs CMD as the init of new pid and IPC namespaces made by
 * clone(CLONE_NEWPID | CLONE_NEWIPC) and waits for it (exit status: CMD's). What `unshare --pid
 * --ipc --fork` does on kernels whose unshare() takes CLONE_NEWPID (3.8+); on 2.6.26 clone() is the
 * only way to a new pid namespace, so `nsd dump` starts containers with this there.
 */
export const CONTAINER_PATH = '/sbin/nsd-container';
const CONTAINER = defineProgram<{ rc: RunCommandState | null }>({
  name: CONTAINER_PATH,
  start: () => ({ rc: null }),
  step(p) {
    if (!p.state.rc) {
      if (p.argv.length < 2) {
        p.err('nsd-container: a command is required\n');
        return p.exit(1);
      }
      p.state.rc = { phase: 'forked', fork: true, argv: p.argv.slice(1), envp: [...p.envp], pid: 0 };
      return p.call('clone', CLONE_NEWPID | CLONE_NEWIPC | SIGCHLD);
    }
    return runCommand(p, 'nsd-container', p.state.rc);
  },
});

/** The kernel options every verb that boots a model takes. */
export interface ModelFlags {
  profile: ProfileName;
  seed: number;
  trace: boolean;
}

/** Adds --profile, --seed and --trace (and, with `bind`, the repeatable --bind) to a verb. */
export function modelOptions(cmd: Command, bind = false): Command {
  cmd.addOption(new Option('--profile <name>', 'kernel profile').choices(['linux-6', 'linux-2.6.26']).default('linux-6'));
  if (bind) cmd.option('--bind <hostdir:/path>', 'make a host directory readable and writable at /path (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[]);
  return cmd
    .option('--seed <n>', "seed for the scheduler's tie-breaks (0: round robin)", (v: string) => {
      if (!/^[0-9]+$/.test(v)) throw new InvalidArgumentError('not a non-negative integer');
      return Number(v);
    }, 0)
    .option('--trace', 'print every syscall of every task to stderr, strace style', false);
}

/** POSIX shell quoting of one word. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * Runs `sh -c script` in a fresh kernel with `hostDir` bound at IMAGES_PATH; returns the status.
 * With `writeBack` the directory is copied back to the host at the end (dump); restore only reads.
 */
export function runModelScript(script: string, hostDir: string | null, flags: ModelFlags, io: CrCommandIo, writeBack = false): number {
  const session = new Session({
    profile: flags.profile,
    seed: flags.seed,
    stdout: (b) => io.stdout(b),
    stderr: (b) => io.stderr(b),
    trace: flags.trace ? (line) => io.stderr(line + '\n') : undefined,
  });
  installContainer(session.kernel);
  const bind = hostDir === null ? null : parseBind(`${hostDir}:${IMAGES_PATH}`);
  if (bind) copyIn(session.kernel, bind);
  session.start(['/bin/sh', '-c', script], defaultEnv());
  let status: number;
  try {
    status = session.runToEnd();
  } catch (e) {
    io.stderr(`nsd: ${e instanceof Error ? e.message : String(e)}\n`);
    status = 1;
  }
  if (bind && writeBack) copyOut(session.kernel, bind);
  return status;
}

/** A --after/--interval value: what `sleep` takes, refused here rather than ignored in the model. */
function durationArg(v: string): string {
  if (parseDuration(v) === null) throw new InvalidArgumentError('not a duration (a number with an optional s, m, h or d suffix)');
  return v;
}

/** Installs /sbin/nsd-container in `k` (see containerStart). */
export function installContainer(k: Kernel): void {
  k.installProgram(CONTAINER, CONTAINER_PATH);
}

/**
 * The command that starts a container (new pid and IPC namespaces) on `profile`: unshare(CLONE_NEWPID)
 * exists from Linux 3.8; before, a pid namespace is only made by clone(), so /sbin/nsd-container
 * (installContainer) does it there.
 */
export function containerStart(profile: ProfileName | undefined): string {
  return PROFILES[profile ?? 'linux-6'].unshareNewPid ? 'unshare --pid --ipc --fork' : CONTAINER_PATH;
}

/** The script `nsd dump` runs in the model. */
export function dumpScript(cmd: string[], opts: { after: string; leaveRunning?: boolean; withFs?: boolean; verbose?: boolean; rounds?: number; interval?: string; trackMem?: boolean; profile?: ProfileName }): string {
  const rounds = opts.rounds ?? 0;
  const flags = [opts.leaveRunning ? ' --leave-running' : '', opts.withFs ? ' --with-fs' : '', opts.verbose ? ' -v' : '', rounds > 0 ? ` --prev-images-dir ${rounds} --track-mem` : opts.trackMem ? ' --track-mem' : ''].join('');
  const start = containerStart(opts.profile);
  // Pre-dump rounds (nsd pre-dump): DIR/1 … DIR/N, each the parent of the next, the tree running on.
  const preDumps = Array.from({ length: rounds }, (_, i) => [
    ...(i > 0 ? [`sleep ${shellQuote(opts.interval ?? '1')}`] : []),
    `cr pre-dump -t $c -D ${IMAGES_PATH}/${i + 1}${i > 0 ? ` --prev-images-dir ../${i}` : ''}${opts.verbose ? ' -v' : ''} || exit 1`,
  ]).flat();
  if (rounds > 0) preDumps.push(`sleep ${shellQuote(opts.interval ?? '1')}`);
  return [
    `${start} ${cmd.map(shellQuote).join(' ')} &`,
    `sleep ${shellQuote(opts.after)}`,
    'c=$(cat /proc/$!/task/$!/children)',
    `[ -n "$c" ] || { echo "nsd dump: no container to dump: it could not start or has already ended (see above; a shorter --after dumps it earlier)" >&2; exit 1; }`,
    ...preDumps,
    `cr dump -t $c -D ${IMAGES_PATH}${flags} || exit 1`,
    opts.leaveRunning ? 'wait $!' : 'wait $! 2>/dev/null; exit 0',
  ].join('\n');
}

/**
 * Makes the host images directory one component at a time (Node's recursive mkdirSync spins
 * forever on some paths, e.g. under /proc) and checks it takes files; the reason, or null.
 */
export function makeImagesDir(dir: string): string | null {
  const abs = resolve(dir);
  const missing: string[] = [];
  let at = abs;
  for (;;) {
    try {
      if (!statSync(at).isDirectory()) return `${at} is not a directory`;
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return `${at}: ${(e as Error).message}`;
      missing.unshift(at);
      if (dirname(at) === at) break;
      at = dirname(at);
    }
  }
  for (const d of missing) {
    try {
      mkdirSync(d);
    } catch (e) {
      return `can't create ${d}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
    }
  }
  try {
    accessSync(abs, fsConstants.W_OK);
  } catch {
    return `${abs} is not writable`;
  }
  return null;
}

/**
 * Output of a model script with the model's images path shown as the host directory the user
 * named (messages must not leak the bind's internal path).
 */
function hostPaths(io: CrCommandIo, hostDir: string, stdoutToo = false): CrCommandIo {
  const fix = (t: string | Uint8Array): string | Uint8Array => {
    const text = typeof t === 'string' ? t : Buffer.from(t).toString('utf8');
    return text.includes(IMAGES_PATH) ? text.split(IMAGES_PATH).join(hostDir.replace(/\/+$/, '') || '/') : t;
  };
  return { stdout: (t) => io.stdout(stdoutToo ? fix(t) : t), stderr: (t) => io.stderr(fix(t)), exit: (s) => io.exit(s) };
}

/** The script `nsd restore` runs in the model. */
export function restoreScript(cmd: string[], opts: { strategy: string; ipcOnly?: boolean; verbose?: boolean }): string {
  const base = `cr restore -D ${IMAGES_PATH} --strategy ${shellQuote(opts.strategy)}${opts.verbose ? ' -v' : ''}${opts.ipcOnly ? ' --ipc-only' : ''}`;
  if (cmd.length === 0 && !opts.ipcOnly) return `exec ${base}`;
  const run = cmd.length > 0 ? cmd.map(shellQuote).join(' ') : 'nsenter -t $CR_PID --ipc ipcs';
  return [
    `${base} -d --pidfile /run-cr.pid || exit 1`,
    'CR_PID=$(cat /run-cr.pid)',
    'export CR_PID',
    `${run}`,
    'st=$?',
    // The restored init was adopted by the model's init: wait for it to be gone.
    opts.ipcOnly ? 'kill -9 $CR_PID' : 'while kill -0 $CR_PID 2>/dev/null; do sleep 1; done',
    'exit $st',
  ].join('\n');
}

/** `nsd show`: host image files as JSON. */
export function showHost(path: string, io: CrCommandIo): number {
  let files: string[];
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
    files = isDir ? readdirSync(path).filter((n) => n.endsWith('.img')).sort().map((n) => join(path, n)) : [path];
  } catch (e) {
    io.stderr(`nsd show: ${path}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  let chain: string[] = [];
  if (isDir) {
    // A pre-dump chain: follow the `parent` links (relative to each directory).
    for (let d = path, seen = 0; seen < 64; seen++) {
      let rel: string;
      try {
        rel = readFileSync(join(d, 'parent'), 'utf8').trim();
      } catch {
        break;
      }
      d = join(d, rel);
      chain = [...chain, d];
    }
  }
  const shown = [];
  for (const f of files) {
    try {
      shown.push(showImage(readBytes(f), f));
    } catch (e) {
      io.stderr(`nsd show: ${f}: ${e instanceof Error ? e.message : String(e)}\n`);
      return 1;
    }
  }
  io.stdout(JSON.stringify(isDir ? (chain.length > 0 ? { chain, images: shown } : shown) : shown[0], null, 2) + '\n');
  return 0;
}

/** Adds `dump`, `pre-dump`, `restore`, `show` and `check` to the `nsd` program. */
export function addCrCommands(program: Command, io: CrCommandIo = PROCESS_IO): Command {
  modelOptions(
    program
      .command('dump')
      .description('start CMD as a container in a fresh kernel, let it run, and checkpoint it into host directory DIR')
      .requiredOption('-D, --images-dir <dir>', 'host directory for the images (created if missing)')
      .option('--after <duration>', 'virtual time the container runs before the dump (sleep syntax: 2, 1.5s, 1m)', durationArg, '1')
      .option('-R, --leave-running', 'let the container run to its end after the dump', false)
      .option('--with-fs', 'also save the files it has open and its working directories', false)
      .option('--track-mem', 'write private memory as pagemap/pages images (soft-dirty tracked, like cr dump --track-mem)', false)
      .option('-v, --verbose', 'say what was dumped', false)
      .argument('<cmd...>', 'the container\'s command (after --)')
      .passThroughOptions(),
  ).action((cmd: string[], o: { imagesDir: string; after: string; leaveRunning: boolean; withFs: boolean; trackMem: boolean; verbose: boolean } & ModelFlags) => {
    const bad = makeImagesDir(o.imagesDir);
    if (bad !== null) {
      io.stderr(`nsd dump: ${bad}\n`);
      io.exit(1);
      return;
    }
    // cr dump -v reports where it wrote (stdout); a restored container's own output is left as it is.
    const out = hostPaths(io, o.imagesDir, true);
    io.exit(runModelScript(dumpScript(cmd, o), o.imagesDir, o, out, true));
  });

  modelOptions(
    program
      .command('pre-dump')
      .description('as dump, with pre-copy: N memory-only rounds (DIR/1 … DIR/N) while CMD runs on, then a dump of what changed since into DIR')
      .requiredOption('-D, --images-dir <dir>', 'host directory for the images (created if missing)')
      .option('--after <duration>', 'virtual time the container runs before the first round (sleep syntax)', durationArg, '1')
      .option('--rounds <n>', 'pre-dump rounds before the final dump', (v: string) => {
        if (!/^[1-9][0-9]*$/.test(v) || Number(v) > 64) throw new InvalidArgumentError('not an integer from 1 to 64');
        return Number(v);
      }, 2)
      .option('--interval <duration>', 'virtual time between rounds (sleep syntax)', durationArg, '1')
      .option('-R, --leave-running', 'let the container run to its end after the dump', false)
      .option('-v, --verbose', 'say what each round wrote', false)
      .argument('<cmd...>', 'the container\'s command (after --)')
      .passThroughOptions(),
  ).action((cmd: string[], o: { imagesDir: string; after: string; rounds: number; interval: string; leaveRunning: boolean; verbose: boolean } & ModelFlags) => {
    const bad = makeImagesDir(o.imagesDir);
    if (bad !== null) {
      io.stderr(`nsd pre-dump: ${bad}\n`);
      io.exit(1);
      return;
    }
    io.exit(runModelScript(dumpScript(cmd, o), o.imagesDir, o, hostPaths(io, o.imagesDir, true), true));
  });

  modelOptions(
    program
      .command('restore')
      .description('restore the checkpoint in host directory DIR into a fresh kernel; with CMD, run CMD next to it ($CR_PID)')
      .requiredOption('-D, --images-dir <dir>', 'host directory holding the images')
      .addOption(new Option('-s, --strategy <name>', 'how ids are obtained').choices([...STRATEGIES]).default('nsd'))
      .option('--ipc-only', 'restore only the IPC namespace (e.g. a dump written by CRIU)', false)
      .option('-v, --verbose', 'list every field the strategy could not restore', false)
      .argument('[cmd...]', 'a command to run in the model once restored (after --)')
      .passThroughOptions(),
  ).action((cmd: string[], o: { imagesDir: string; strategy: string; ipcOnly: boolean; verbose: boolean } & ModelFlags) => {
    let ok = false;
    try {
      ok = statSync(o.imagesDir).isDirectory();
    } catch {
      // reported below
    }
    if (!ok) {
      io.stderr(`nsd restore: ${o.imagesDir}: not a directory\n`);
      io.exit(1);
      return;
    }
    io.exit(runModelScript(restoreScript(cmd, o), o.imagesDir, o, hostPaths(io, o.imagesDir)));
  });

  program
    .command('show')
    .description('decode image files (a file, or every *.img of a directory) to JSON, like crit show')
    .argument('<path>', 'image file or directory')
    .action((path: string) => io.exit(showHost(path, io)));

  modelOptions(program.command('check').description('which restore strategies, features and syscalls a kernel profile supports')).action((o: ModelFlags) => {
    io.exit(runModelScript('exec cr check', null, o, io));
  });
  return program;
}
