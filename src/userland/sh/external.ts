/** Running an external command: PATH lookup, the environment, execve and its failure messages. */
import { strerror, type ErrnoCode } from '../../abi/errno.js';
import { findExecutable } from '../lib/process.js';
import type { Redir } from './ast.js';
import type { Frame } from './state.js';
import { type Outcome, type Shell } from './shell.js';
import { applyRedirs } from './redir.js';

/**
 * In the process that will run an external command (a forked child, or the shell itself for
 * `exec` and the last command of `sh -c`): redirections, then execve. Never returns to the shell.
 */
export function execExternal(sh: Shell, redirs: Redir[] | null, redirSubs: string[], argv: string[], assigns: Array<[string, string]>): Outcome {
  const s = sh.s;
  if (argv.length === 0) return sh.exit(s.status);
  if (redirs && !applyRedirs(sh, redirs, sh.expandEnv(redirSubs), null)) return sh.exit(1);
  const name = argv[0]!;
  const path = lookup(sh, name);
  if (path === null) {
    sh.error(`${name}: command not found`);
    return sh.exit(127);
  }
  const env = environ(sh, assigns);
  const f: Frame = { k: 'bi-call', name: 'execve', args: [path, argv, env], mode: 'exec', label: name };
  sh.push(f);
  return sh.call(f, 'execve', path, argv, env);
}

/** execve failed (the bi-call frame of execExternal): say why and exit 126/127. */
export function execFailed(sh: Shell, name: string, code: ErrnoCode): Outcome {
  if (code === 'ENOEXEC') sh.error(`${name}: cannot execute binary file: Exec format error`);
  else sh.error(`${name}: ${strerror(code)}`);
  return sh.exit(code === 'ENOENT' ? 127 : 126);
}

/** PATH search with stat() (which never consumes next_syscall_data). */
export function lookup(sh: Shell, name: string): string | null {
  return findExecutable(sh.p.sys, name, sh.s.vars['PATH']);
}

export function environ(sh: Shell, extra: Array<[string, string]> = []): string[] {
  const s = sh.s;
  const env = new Map<string, string>();
  for (const [k, v] of Object.entries(s.vars)) if (s.exported[k]) env.set(k, v);
  for (const [k, v] of extra) env.set(k, v);
  return [...env].map(([k, v]) => `${k}=${v}`);
}
