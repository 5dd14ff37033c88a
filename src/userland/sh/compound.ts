/** Lists, and-or lists and compound commands (if, while/until, for, case), and the unwinding of break, continue and return. */
import { ExpandError, expandFields, expandPattern, expandString, matchPattern } from './expand.js';
import { type F, type Outcome, type Shell } from './shell.js';
import { nodeText } from './text.js';
import { needSubsts } from './subst.js';
import { restoreFds } from './redir.js';

export function execList(sh: Shell, f: F<'list'>): Outcome {
  if (f.ret !== undefined) {
    delete f.ret;
    f.i++;
  }
  if (f.i >= f.items.length) {
    sh.finish(sh.s.status);
    return undefined;
  }
  const item = f.items[f.i]!;
  sh.s.line = item.node.line;
  if (item.async) sh.push({ k: 'fork', node: item.node, bg: true, phase: 'fork', pid: 0, text: nodeText(item.node) });
  else sh.pushNode(item.node);
  return undefined;
}

export function execAndOr(sh: Shell, f: F<'andor'>): Outcome {
  if (f.i === -1) {
    f.i = 0;
    sh.pushNode(f.node.first);
    return undefined;
  }
  const st = f.ret ?? sh.s.status;
  delete f.ret;
  while (f.i < f.node.rest.length) {
    const r = f.node.rest[f.i++]!;
    if ((r.op === '&&') === (st === 0)) {
      sh.pushNode(r.node);
      return undefined;
    }
  }
  sh.finish(st);
  return undefined;
}

export function execIf(sh: Shell, f: F<'if'>): Outcome {
  const n = f.node;
  if (f.ret === undefined) {
    sh.pushNode(n.clauses[0]!.cond);
    return undefined;
  }
  const st = f.ret;
  delete f.ret;
  if (f.phase === 'body') {
    sh.finish(st);
    return undefined;
  }
  if (st === 0) {
    f.phase = 'body';
    sh.pushNode(n.clauses[f.i]!.body);
    return undefined;
  }
  f.i++;
  if (f.i < n.clauses.length) {
    sh.pushNode(n.clauses[f.i]!.cond);
    return undefined;
  }
  if (n.else) {
    f.phase = 'body';
    sh.pushNode(n.else);
    return undefined;
  }
  sh.finish(0);
  return undefined;
}

export function execLoop(sh: Shell, f: F<'loop'>): Outcome {
  const n = f.node;
  if (f.ret !== undefined) {
    const st = f.ret;
    delete f.ret;
    if (f.phase === 'cond') {
      if ((st === 0) === n.until) {
        sh.finish(f.status);
        return undefined;
      }
      f.phase = 'body';
      sh.pushNode(n.body);
      return undefined;
    }
    f.status = st;
    f.phase = 'cond';
  }
  sh.pushNode(n.cond);
  return undefined;
}

export function execFor(sh: Shell, f: F<'for'>): Outcome {
  const n = f.node;
  if (f.phase === 'start') {
    if (n.words && f.subs === null && needSubsts(sh, n.words)) return undefined;
    try {
      f.items = n.words ? expandFields(n.words, sh.expandEnv(f.subs)) : [...sh.s.pos];
    } catch (e) {
      if (!(e instanceof ExpandError)) throw e;
      sh.error(e.message);
      sh.finish(1);
      return undefined;
    }
    f.phase = 'body';
    f.i = 0;
  } else if (f.ret !== undefined) {
    f.status = f.ret;
    delete f.ret;
    f.i++;
  }
  if (f.i >= f.items.length) {
    sh.finish(f.status);
    return undefined;
  }
  sh.setVar(n.name, f.items[f.i]!);
  sh.pushNode(n.body);
  return undefined;
}

export function execCase(sh: Shell, f: F<'case'>): Outcome {
  const n = f.node;
  if (f.phase === 'body') {
    sh.finish(f.ret ?? 0);
    return undefined;
  }
  const words = [n.word, ...n.items.flatMap((it) => it.pats)];
  if (f.subs === null && needSubsts(sh, words)) return undefined;
  const env = sh.expandEnv(f.subs);
  try {
    const w = expandString(n.word, env);
    for (const it of n.items) {
      for (const pat of it.pats) {
        if (matchPattern(w, expandPattern(pat, env))) {
          if (!it.body) {
            sh.finish(0);
            return undefined;
          }
          f.phase = 'body';
          sh.pushNode(it.body);
          return undefined;
        }
      }
    }
  } catch (e) {
    if (!(e instanceof ExpandError)) throw e;
    sh.error(e.message);
    sh.finish(1);
    return undefined;
  }
  sh.finish(0);
  return undefined;
}

/** Pops frames down to the n-th enclosing loop; false when there is none. */
export function unwindLoop(sh: Shell, n: number, cont: boolean): boolean {
  const s = sh.s;
  let found = -1;
  let seen = 0;
  for (let i = s.frames.length - 1; i >= 0; i--) {
    const k = s.frames[i]!.k;
    if (k === 'func' || k === 'exit-after' || k === 'trap' || k === 'top') break;
    if (k === 'loop' || k === 'for') {
      found = i;
      if (++seen === n) break;
    }
  }
  if (found < 0) return false;
  popTo(sh, found + 1);
  const loop = s.frames[found] as F<'loop'> | F<'for'>;
  if (cont) {
    if (loop.k === 'loop') {
      loop.phase = 'cond';
      delete loop.ret;
    } else loop.ret = s.status;
  } else {
    popTo(sh, found);
    const below = s.frames[s.frames.length - 1];
    s.status = 0;
    if (below) below.ret = 0;
  }
  return true;
}

/** Pops frames down to the enclosing function call; false when there is none. */
export function unwindReturn(sh: Shell, status: number): boolean {
  const s = sh.s;
  for (let i = s.frames.length - 1; i >= 0; i--) {
    const k = s.frames[i]!.k;
    if (k === 'exit-after' || k === 'top' || k === 'trap') return false;
    if (k === 'func') {
      popTo(sh, i + 1);
      s.frames[i]!.ret = status;
      s.status = status;
      return true;
    }
  }
  return false;
}

/** Pops frames above index `n`, undoing their redirections. */
export function popTo(sh: Shell, n: number): void {
  const s = sh.s;
  while (s.frames.length > n) {
    const f = s.frames.pop()!;
    if ((f.k === 'redir' || f.k === 'simple') && f.saved.length) restoreFds(sh, f.saved);
    if (f.k === 'func') s.pos = f.saved;
  }
}
