/** Simple commands: expansion, assignments, then a function, a builtin, or a forked external command. */
import { strerror } from '../../abi/errno.js';
import { ExpandError, expandFields, expandString } from './expand.js';
import { type F, type Outcome, type Shell } from './shell.js';
import { becomeChild, forked, waited } from './jobs.js';
import { collectSubsts, needSubsts } from './subst.js';
import { applyRedirs, restoreFds } from './redir.js';
import { execExternal, lookup } from './external.js';
import { BUILTINS, EXEC_WHEN_LAST, SPECIAL_BUILTINS } from './builtins.js';

export function execSimple(sh: Shell, f: F<'simple'>): Outcome {
  const s = sh.s;
  const node = f.node;
  s.line = node.line;
  switch (f.phase) {
    case 'start': {
      f.phase = 'run';
      if (needSubsts(sh, [...node.words, ...node.redirs.map((r) => r.target), ...node.assigns.map((a) => a.value)])) return undefined;
      return execSimple(sh, f);
    }
    case 'run':
      return runSimple(sh, f);
    case 'builtin-done': {
      const werr = sh.p.writeError;
      if (werr === 'EPIPE' && !f.werrYield) {
        // Let a SIGPIPE the failed write raised kill the shell first, as in Linux.
        f.werrYield = true;
        sh.yieldNow = true;
        return undefined;
      }
      sh.p.takeWriteError();
      restoreFds(sh, f.saved);
      let status = f.ret ?? s.status;
      if (werr !== undefined && BUILTINS[f.argv[0] ?? ''] && !s.funcs[f.argv[0]!]) {
        // bash's sh_chkwrite: a builtin whose standard output could not be written fails.
        sh.error(`${f.argv[0]}: write error: ${strerror(werr)}`);
        status = 1;
      }
      sh.finish(status);
      return undefined;
    }
    case 'fork': {
      const pid = forked(sh, f);
      if (pid === 0) {
        becomeChild(sh, false);
        return execExternal(sh, f.node.redirs, f.redirSubs, f.argv, f.assigns);
      }
      if (pid < 0) return undefined;
      f.pid = pid;
      f.phase = 'wait';
      return sh.call(f, 'wait4', f.pid, 0);
    }
    case 'wait':
      return waited(sh, f, f.pid);
  }
}

export function runSimple(sh: Shell, f: F<'simple'>): Outcome {
  const s = sh.s;
  const node = f.node;
  // The outputs of $(…) come in word, redirection, assignment order (see execSimple's 'start').
  const all = f.subs ? [...f.subs] : [];
  const wordSubs = f.subs ? all.splice(0, collectSubsts(sh, node.words).length) : [];
  f.redirSubs = f.subs ? all.splice(0, collectSubsts(sh, node.redirs.map((r) => r.target)).length) : [];
  let argv: string[];
  const assigns: Array<[string, string]> = [];
  try {
    argv = expandFields(node.words, sh.expandEnv(wordSubs));
    const aenv = sh.expandEnv(all);
    for (const a of node.assigns) assigns.push([a.name, expandString(a.value, aenv)]);
  } catch (e) {
    if (!(e instanceof ExpandError)) throw e;
    sh.error(e.message);
    if (!s.interactive) return sh.exit(1);
    sh.finish(1);
    return undefined;
  }
  f.argv = argv;
  f.assigns = assigns;
  const redirEnv = sh.expandEnv(f.redirSubs);
  if (s.opts.includes('x')) sh.p.err(`+ ${[...assigns.map(([n, v]) => `${n}=${v}`), ...argv].join(' ')}\n`);
  if (argv.length === 0) {
    for (const [n, v] of assigns) sh.setVar(n, v);
    const saved: Array<[number, number]> = [];
    const ok = applyRedirs(sh, node.redirs, redirEnv, saved);
    restoreFds(sh, saved);
    sh.finish(ok ? (f.subs && f.subs.length ? s.status : 0) : 1);
    return undefined;
  }
  const name = argv[0]!;
  if (name === 'exec') {
    if (!applyRedirs(sh, node.redirs, redirEnv, null)) {
      if (!s.interactive) return sh.exit(1);
      sh.finish(1);
      return undefined;
    }
    for (const [n, v] of assigns) sh.setVar(n, v);
    if (argv.length === 1) {
      sh.finish(0);
      return undefined;
    }
    return execExternal(sh, null, [], argv.slice(1), []);
  }
  const func = s.funcs[name];
  // A NOFORK utility that is no shell builtin in bash (sleep) is exec'd when it is the last thing
  // a process runs (`sleep 5 &`, `sh -c 'sleep 5'`): its comm becomes `sleep`, as in Linux.
  const builtin = f.execLast && !func && EXEC_WHEN_LAST.has(name) && lookup(sh, name) !== null ? undefined : BUILTINS[name];
  if (func || builtin) {
    if (SPECIAL_BUILTINS.has(name) || func) for (const [n, v] of assigns) sh.setVar(n, v);
    if (!applyRedirs(sh, node.redirs, redirEnv, f.saved)) {
      restoreFds(sh, f.saved);
      if (!s.interactive && SPECIAL_BUILTINS.has(name)) return sh.exit(1);
      sh.finish(1);
      return undefined;
    }
    f.phase = 'builtin-done';
    sh.p.takeWriteError();
    if (func) {
      sh.push({ k: 'func', saved: s.pos });
      s.pos = argv.slice(1);
      sh.pushNode(func);
      return undefined;
    }
    const out = builtin!(sh, argv, f);
    if (typeof out === 'number') f.ret = out;
    else if (out) return out;
    return undefined;
  }
  if (f.execLast) return execExternal(sh, node.redirs, f.redirSubs, argv, assigns);
  f.phase = 'fork';
  return sh.call(f, 'fork');
}
