/**
 * The built-in race scenarios. Each boots a small kernel (no userland: only the race programs),
 * starts a restorer with one strategy and, where the scenario has one, an adversary process, and
 * returns the state to explore from. Wanted ids are far from what the allocators hand out on their
 * own (pid 300, msg id 65540 = index 4 sequence 2, fd 7), so a right id is never a coincidence.
 */
import { SIGCHLD, SIGUSR1 } from '../abi/constants.js';
import type { KernelState } from '../kernel/state.js';
import { Kernel } from '../syscalls/scheduler.js';
import type { ProgramDef } from '../syscalls/program.js';
import {
  ADVERSARY, ADVERSARY_PATH, RESTORER, RESTORER_PATH, STRATEGY_KINDS, type NoiseAction, type RaceStrategy, type RestoredObj, type RestorerConfig,
} from './programs.js';

export const WANT: Record<RestoredObj['kind'], number> = { pid: 300, msg: 65540, fd: 7 };

export interface Scenario {
  name: string;
  /** One line: what runs between arm and use. */
  what: string;
  /** The restorer's noise. */
  handler?: NoiseAction[];
  thread?: NoiseAction[];
  exec?: boolean;
  /** The adversary process's actions (`kill:@:SIG` targets the restorer). */
  adversary?: string[];
  /** Object kinds the scenario restores (default: all the strategy can). */
  kinds?: RestoredObj['kind'][];
  /** The c/r engine restores the demo container instead (src/races/restore-scenario.ts). */
  restore?: boolean;
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'handler',
    what: 'a SIGUSR1 handler (signal sent by another process) opens, msggets and forks',
    handler: ['open', 'msgget', 'fork'],
    adversary: [`kill:@:${SIGUSR1}`],
  },
  {
    name: 'thread',
    what: 'a second thread of the restoring process opens, msggets and forks',
    thread: ['open', 'msgget', 'fork'],
  },
  {
    name: 'ipc-ns',
    what: 'another process in the same IPC namespace creates two message queues',
    adversary: ['msgget', 'msgget'],
  },
  {
    name: 'fork',
    what: 'another process in the same pid namespace forks twice',
    adversary: ['fork', 'fork'],
  },
  {
    name: 'vfork',
    what: 'a SIGUSR1 handler vforks a child that msggets and opens before _exit',
    handler: ['vfork'],
    adversary: [`kill:@:${SIGUSR1}`],
  },
  {
    name: 'exec',
    what: 'the restorer execs itself between arm and use (no other task)',
    exec: true,
  },
  {
    name: 'restore',
    what: 'cr restores the demo container while another process joins its namespaces (setns), msggets and forks',
    restore: true,
  },
];

/** The c/r strategy a race strategy stands for in the `restore` scenario (null: not applicable). */
export function crStrategyFor(strategy: RaceStrategy): 'nsd' | 'with-id' | 'mainline' | null {
  if (strategy === 'nsd' || strategy === 'with-id') return strategy;
  // linux-6 mainline restores pids with clone3 set_tid and IPC ids with *_next_id, in one run.
  if (strategy === 'set_tid' || strategy === 'next_id') return 'mainline';
  return null;
}

export function findScenario(name: string): Scenario {
  const s = SCENARIOS.find((x) => x.name === name);
  if (!s) throw new Error(`unknown scenario '${name}' (expected one of: ${SCENARIOS.map((x) => x.name).join(', ')})`);
  return s;
}

/** The objects a strategy restores in a scenario (empty: the strategy does not apply). */
export function objectsFor(sc: Scenario, strategy: RaceStrategy): RestoredObj[] {
  return STRATEGY_KINDS[strategy]
    .filter((kind) => !sc.kinds || sc.kinds.includes(kind))
    .map((kind) => ({ kind, want: WANT[kind], got: null }));
}

export interface Prepared {
  /** The kernel state to start every schedule from. */
  state: KernelState;
  /** The program code it runs (`Kernel.fromState`'s `programs`). */
  programs: ProgramDef<unknown>[];
  /** kid of the restorer (its pid in the initial namespace). */
  restorer: number;
  objs: RestoredObj[];
}

/** Boots the scenario's kernel for one strategy, up to the first scheduler step. */
export function prepare(sc: Scenario, strategy: RaceStrategy): Prepared {
  const k = new Kernel({ profile: 'linux-6' });
  k.init.sys.mkdir('/races', 0o755);
  k.installProgram(RESTORER);
  k.installProgram(ADVERSARY);
  const objs = objectsFor(sc, strategy);
  const cfg: RestorerConfig = { strategy, objs, handler: sc.handler ?? [], thread: sc.thread ?? [], exec: sc.exec ?? false };
  const init = k.init.sys;
  const restorer = init.fork();
  const rt = k.task(restorer)!;
  rt.sys.execve(RESTORER_PATH, [RESTORER_PATH, JSON.stringify(cfg)]);
  // The handler is installed before anyone can signal (SIGUSR1's default action kills).
  if (cfg.handler.length > 0) rt.sys.rt_sigaction(SIGUSR1, 2);
  if (sc.adversary) {
    const adv = init.clone(SIGCHLD);
    k.task(adv)!.sys.execve(ADVERSARY_PATH, [ADVERSARY_PATH, ...sc.adversary.map((a) => a.replace('@', String(restorer)))]);
  }
  return { state: k.snapshot(), programs: [...k.programs.values()], restorer, objs };
}
