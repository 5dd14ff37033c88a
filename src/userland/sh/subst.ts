/** Command substitution: `$(…)` runs in a forked child whose output comes back through a pipe. */
import { ErrnoError, WouldBlockError, strerror } from '../../abi/errno.js';
import { O_CLOEXEC } from '../../abi/constants.js';
import { toText } from '../lib/program.js';
import { exitCodeOf } from '../lib/process.js';
import type { Node, Word, WordPart } from './ast.js';
import { type F, type Outcome, type Shell } from './shell.js';
import { becomeChild } from './jobs.js';

/** Command substitutions of a set of words, in expansion order. */
export function collectSubsts(sh: Shell, words: Word[]): Node[] {
  const out: Node[] = [];
  const walk = (parts: readonly WordPart[]) => {
    for (const p of parts) {
      if (p.t === 'cmd') out.push(p.body);
      else if (p.t === 'dq') walk(p.parts);
      else if (p.t === 'param' && p.arg) walk(p.arg.parts);
      else if (p.t === 'arith') walk(p.expr.parts);
    }
  };
  for (const w of words) walk(w.parts);
  return out;
}

/** Pushes a `subst` frame if the words need command substitutions; returns whether it did. */
export function needSubsts(sh: Shell, words: Word[]): boolean {
  const cmds = collectSubsts(sh, words);
  if (cmds.length === 0) return false;
  sh.push({ k: 'subst', words, cmds, outs: [] });
  return true;
}

export function execSubst(sh: Shell, f: F<'subst'>): Outcome {
  if (f.ret !== undefined) delete f.ret;
  if (f.outs.length < f.cmds.length) {
    sh.push({ k: 'cmdsub', body: f.cmds[f.outs.length]!, phase: 'fork', rfd: -1, wfd: -1, pid: 0, chunks: [] });
    return undefined;
  }
  const s = sh.s;
  s.frames.pop();
  const below = s.frames[s.frames.length - 1] as { subs?: string[] | null };
  below.subs = f.outs;
  return undefined;
}

export function execCmdSub(sh: Shell, f: F<'cmdsub'>): Outcome {
  const sys = sh.p.sys;
  if (f.phase === 'fork') {
    if (!f.res) {
      const pr = sh.p.attempt(() => sys.pipe2(O_CLOEXEC));
      if (!pr.ok) {
        sh.error(`cannot make pipe for command substitution: ${strerror(pr.code)}`);
        return subDone(sh, '', 1);
      }
      [f.rfd, f.wfd] = pr.value;
      return sh.call(f, 'fork');
    }
    const r = sh.take(f);
    const wfd = f.wfd;
    if (!r.ok) {
      sh.error(`fork: ${strerror(r.code)}`);
      sh.p.attempt(() => sys.close(f.rfd));
      sh.p.attempt(() => sys.close(wfd));
      return subDone(sh, '', 1);
    }
    if (r.value === 0) {
      becomeChild(sh, false);
      sh.p.attempt(() => sys.dup2(wfd, 1));
      sh.p.attempt(() => sys.close(wfd));
      sh.p.attempt(() => sys.close(f.rfd));
      sh.s.frames = [{ k: 'exit-after' }];
      sh.pushNode(f.body, true);
      return undefined;
    }
    f.pid = r.value as number;
    sh.p.attempt(() => sys.close(wfd));
    f.phase = 'read';
  }
  if (f.phase === 'read') {
    for (;;) {
      let bytes: Uint8Array;
      if (f.res) {
        const r = sh.take(f);
        bytes = r.ok ? (r.value as Uint8Array) : new Uint8Array(0);
        if (!r.ok && r.code === 'EINTR') continue;
      } else {
        try {
          bytes = sys.read(f.rfd, 65536);
        } catch (e) {
          if (e instanceof WouldBlockError) return sh.call(f, 'read', f.rfd, 65536);
          if (!(e instanceof ErrnoError)) throw e;
          bytes = new Uint8Array(0);
        }
      }
      if (bytes.length === 0) break;
      f.chunks.push(bytes);
    }
    sh.p.attempt(() => sys.close(f.rfd));
    f.phase = 'wait';
    return sh.call(f, 'wait4', f.pid, 0);
  }
  const r = sh.take(f);
  if (!r.ok && r.code === 'EINTR') return sh.call(f, 'wait4', f.pid, 0);
  const status = r.ok ? exitCodeOf((r.value as { status: number }).status) : 127;
  let total = 0;
  for (const c of f.chunks) total += c.length;
  const all = new Uint8Array(total);
  let at = 0;
  for (const c of f.chunks) {
    all.set(c, at);
    at += c.length;
  }
  return subDone(sh, toText(all), status);
}

/** Ends a `cmdsub` frame, handing its output to the `subst` frame below. */
export function subDone(sh: Shell, out: string, status: number): Outcome {
  const s = sh.s;
  s.frames.pop();
  s.status = status;
  const below = s.frames[s.frames.length - 1] as F<'subst'>;
  below.outs.push(out);
  return undefined;
}
