/**
 * The userland: the program layer, the shell, the utilities and the demo workloads, and
 * `installUserland`, which puts them in a kernel's file tree (/bin, /sbin, /etc).
 */
import { O_CREAT, O_TRUNC, O_WRONLY } from '../abi/constants.js';
import type { Kernel } from '../syscalls/scheduler.js';
import { USERLAND, type Program } from './lib/program.js';
import './sh/sh.js';
import './init.js';
import './utils/all.js';
import './demo/mq.js';

export { defineProgram, Proc, appState, type UserProgram, type StartContext, type Program } from './lib/program.js';
export { defineApplet, type Applet, type AppletIo } from './lib/applet.js';
export { pumpInput, newInput, type InputState } from './lib/input.js';
export { getopt, parseNumber, UsageError } from './lib/args.js';
export { sessionStatus, sessionLeader, INIT_PATH } from './init.js';
export { SH_PATH } from './sh/sh.js';

const ETC: Record<string, string> = {
  '/etc/passwd': 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n',
  '/etc/group': 'root:x:0:\nnogroup:x:65534:\n',
  '/etc/hostname': 'nsd\n',
};

/**
 * The userland's programs (the shell, init, the utilities, the demo workloads): what
 * `installUserland` installs, and the code to give `Kernel.fromState` for a state that runs them.
 */
export function userlandPrograms(): Program<unknown>[] {
  return [...USERLAND.values()];
}

/** Installs every userland program at its path, plus /etc/passwd and /etc/group. */
export function installUserland(k: Kernel): void {
  const sys = k.init.sys;
  for (const dir of ['/sbin', '/usr', '/usr/bin']) {
    try {
      sys.mkdir(dir, 0o755);
    } catch {
      // exists
    }
  }
  for (const [name, def] of USERLAND) if (name.startsWith('/')) k.installProgram(def, name);
  for (const [path, text] of Object.entries(ETC)) {
    const fd = sys.open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644);
    sys.write(fd, text);
    sys.close(fd);
  }
}
