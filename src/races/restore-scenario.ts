/**
 * The `restore` scenario: the c/r engine (src/cr) restores the demo's small container (its init,
 * a producer, two two-threaded workers, a queue, a semaphore set, a shm segment, a pipe) while an
 * adversary process runs. The restore is a library run (direct syscalls of the restorer and the
 * restored tasks); before each of its steps there is a choice point: the adversary takes one
 * scheduler step now, or not. An adversary step, once the container's namespaces exist, joins them
 * (setns on /proc/N/ns/{ipc,pid}, as `nsenter` would) and then, each step, creates a message
 * queue and forks a child that exits: exactly what can take an armed `*_next_id` or an id the
 * restore is about to ask for. The choice points are the engine's steps (its `inject` hook) and
 * its id-taking calls (so an adversary step can fall between an arm and its use), not every
 * syscall: bound-1 search stays small. The oracle is the engine's own: a restore that did not get every
 * saved id fails (it never accepts another id), so a violation is a refused restore.
 */
import { CLONE_NEWIPC, CLONE_NEWPID, IPC_CREAT, IPC_PRIVATE, O_RDONLY, O_RDWR, SIGCHLD } from '../abi/constants.js';
import type { KernelState } from '../kernel/state.js';
import { Kernel, type SchedulePolicy } from '../syscalls/scheduler.js';
import { defineBareProgram, type ProgramDef } from '../syscalls/program.js';
import { installUserland } from '../userland/index.js';
import { dump } from '../cr/dump.js';
import { restore } from '../cr/restore.js';
import type { StrategyName } from '../cr/strategy.js';
import { installCr } from '../cr/tool.js';
import { DEMO_JOB, DEMO_JOB_PATH, DEMO_LOG } from '../cr/demo-workload.js';

export const JOINER_PATH = '/races/joiner';

interface JoinerState {
  joined: boolean;
  steps: number;
}

/** Finds a process in another IPC namespace and joins its IPC and pid namespaces; then makes noise. */
export const JOINER = defineBareProgram<JoinerState>({
  name: JOINER_PATH,
  start: () => ({ joined: false, steps: 0 }),
  step(ctx) {
    const s = ctx.state;
    const sys = ctx.sys;
    if (ctx.result?.ok && ctx.result.value === 0) return { exit: 0 }; // a fork child
    s.steps++;
    if (!s.joined) {
      const own = sys.readlink('/proc/self/ns/ipc');
      const dir = sys.open('/proc', O_RDONLY);
      let target = 0;
      try {
        for (let d = sys.getdents64(dir); d.length > 0 && target === 0; d = sys.getdents64(dir)) {
          for (const e of d) {
            if (!/^\d+$/.test(e.d_name)) continue;
            try {
              if (sys.readlink(`/proc/${e.d_name}/ns/ipc`) !== own) {
                target = Number(e.d_name);
                break;
              }
            } catch {
              // gone meanwhile
            }
          }
        }
      } finally {
        sys.close(dir);
      }
      if (target === 0) return undefined;
      for (const [ns, type] of [['ipc', CLONE_NEWIPC], ['pid_for_children', CLONE_NEWPID]] as const) {
        const fd = sys.open(`/proc/${target}/ns/${ns}`, O_RDONLY);
        try {
          sys.setns(fd, type);
        } finally {
          sys.close(fd);
        }
      }
      s.joined = true;
    }
    try {
      sys.msgget(IPC_PRIVATE, IPC_CREAT | 0o600);
    } catch {
      // full or refused: not what is measured
    }
    return { call: 'fork' };
  },
});

/** A choice point inside a library-driven restore: 1 lets the adversary take a step now. */
export interface AdversaryChoice {
  kind: 'adversary';
  kid: number;
  /** The restore step about to run. */
  step: string;
}

export interface AdversaryPolicy extends SchedulePolicy {
  adversary(k: Kernel, c: AdversaryChoice): number;
}

/** The calls that take an id: an adversary step right before one can steal what was armed for it. */
const CREATING = new Set([
  'fork', 'vfork', 'clone', 'clone3', 'fork_with_id', 'clone_with_id', 'open', 'openat', 'creat', 'open_with_id',
  'msgget', 'semget', 'shmget', 'msgget_with_id', 'semget_with_id', 'shmget_with_id',
]);

/** A kernel whose id-taking library calls (the restore's) are also choice points. */
class RacingKernel extends Kernel {
  beforeCreate: ((name: string) => void) | null = null;

  override directCall(kid: number, name: string, args: unknown[], inStep: boolean): unknown {
    if (!inStep && this.current === 0 && this.beforeCreate && CREATING.has(name)) this.beforeCreate(name);
    return super.directCall(kid, name, args, inStep);
  }
}

/** Lets the adversary (`adv`) take exactly one scheduler step now, if it can run. */
function adversaryStep(k: Kernel, adv: number): void {
  if (!k.s.runq.includes(adv)) return;
  const saved = k.policy;
  k.policy = { choose: (_k, c) => (c.kind === 'task' ? Math.max(0, c.runq.indexOf(adv)) : 0) };
  try {
    k.run({ maxSteps: 1 });
  } finally {
    k.policy = saved;
  }
}

export interface PreparedRestore {
  state: KernelState;
  /** The program code it runs. */
  programs: ProgramDef<unknown>[];
  images: Map<string, Uint8Array>;
  adversary: number;
}

let cached: PreparedRestore | null = null;

/** Dumps the demo container mid-run (once per process) and starts the adversary. */
export function prepareRestore(): PreparedRestore {
  if (cached) return cached;
  const k = new Kernel({ profile: 'linux-6' });
  installUserland(k);
  installCr(k);
  k.installProgram(DEMO_JOB, DEMO_JOB_PATH);
  const sys = k.init.sys;
  for (const d of ['/var', '/var/log', '/races']) {
    try {
      sys.mkdir(d, 0o755);
    } catch {
      // exists
    }
  }
  k.installProgram(JOINER);
  // As the demo: the container's stdio is the console (here a sink).
  k.devices.set('console', { read: () => new Uint8Array(0), write: (_k, b) => b.length });
  sys.open('/dev/console', O_RDWR);
  sys.dup(0);
  sys.dup(0);
  const root = sys.clone(CLONE_NEWPID | CLONE_NEWIPC | SIGCHLD);
  k.task(root)!.sys.execve(DEMO_JOB_PATH, ['cr-demo-job', '2']);
  // Dumped where the demo dumps it: once a worker has reported a counter.
  const logged = () => {
    let fd: number;
    try {
      fd = sys.open(DEMO_LOG, O_RDONLY);
    } catch {
      return false;
    }
    const text = new TextDecoder().decode(sys.read(fd, 65536));
    sys.close(fd);
    return text.includes('-> counter');
  };
  k.run({ until: logged, maxSteps: 100000 });
  const d = dump(k, root);
  k.run({ until: () => !k.task(root)!.alive, maxSteps: 100000 });
  sys.wait4(root, 0);
  const adversary = sys.fork();
  k.task(adversary)!.sys.execve(JOINER_PATH, [JOINER_PATH]);
  cached = { state: k.snapshot(), programs: [...k.programs.values()], images: d.images, adversary };
  return cached;
}

/** Runs one restore under `chooser`; returns null when it succeeded, else why it was refused. */
export function restoreOnce(p: PreparedRestore, strategy: StrategyName, chooser: AdversaryPolicy | null, tracer: ((l: string) => void) | null): string | null {
  const k = new RacingKernel({ programs: p.programs }, structuredClone(p.state));
  k.policy = chooser;
  k.tracer = tracer;
  // The choice points: before every step of the restore (the engine's `inject` hook) and before
  // each id-taking call it makes (so between an arm and its use).
  let busy = false;
  const point = (step: string) => {
    if (busy || !chooser || !k.s.runq.includes(p.adversary)) return;
    busy = true;
    try {
      if (chooser.adversary(k, { kind: 'adversary', kid: p.adversary, step }) === 1) adversaryStep(k, p.adversary);
    } finally {
      busy = false;
    }
  };
  const inject = (step: string) => point(step);
  k.beforeCreate = (name) => point(name);
  try {
    restore(k, p.images, { strategy, inject });
    return null;
  } catch (e) {
    return e instanceof Error ? e.message.split('\n')[0]! : String(e);
  }
}
