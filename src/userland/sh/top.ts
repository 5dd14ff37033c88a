/** The top-level frame: reads (with prompts when interactive) and parses one command at a time. */
import { SIGINT } from '../../abi/constants.js';
import { toText } from '../lib/program.js';
import type { Node } from './ast.js';
import { Parser, ShSyntaxError } from './parse.js';
import { type F, type Outcome, type Shell } from './shell.js';
import { reapJobs } from './jobs.js';

export function execTop(sh: Shell, f: F<'top'>): Outcome {
  const s = sh.s;
  if (f.ret !== undefined) {
    delete f.ret;
    f.phase = 'next';
  }
  if (f.phase === 'read') {
    const r = f.res;
    delete f.res;
    if (!r) return sh.call(f, 'read', 0, 4096);
    if (!r.ok) {
      if (r.code === 'EINTR') {
        // Ctrl-C at the prompt: drop the partial command.
        s.src = { text: '', pos: 0, line: s.src.line, eof: false };
        s.pendingSigs = s.pendingSigs.filter((x) => x !== SIGINT);
        sh.p.err('\n');
        f.phase = 'prompt';
        f.ps2 = false;
        return undefined;
      }
      return sh.exit(s.status);
    }
    const bytes = r.value as Uint8Array;
    if (bytes.length === 0) {
      if (s.interactive) {
        sh.p.err('exit\n');
        return sh.exit(s.status);
      }
      s.src.eof = true;
    } else s.src.text += toText(bytes);
    f.phase = 'next';
  }
  if (f.phase === 'prompt') {
    if (s.interactive) {
      reapJobs(sh, true);
      sh.p.err(f.ps2 ? s.vars['PS2'] ?? '> ' : s.vars['PS1'] ?? '$ ');
    }
    f.phase = 'read';
    return sh.call(f, 'read', 0, 4096);
  }
  // 'next': parse one complete command.
  const src = s.src;
  const parser = new Parser(src.text, src.pos, src.line);
  let node: Node | null;
  try {
    node = parser.parseNext();
  } catch (e) {
    if (!(e instanceof ShSyntaxError)) throw e;
    if (e.incomplete && !src.eof) {
      f.phase = 'prompt';
      f.ps2 = true;
      return undefined;
    }
    sh.error(e.message, e.line);
    s.status = 2;
    if (!s.interactive) return sh.exit(2);
    src.text = '';
    src.pos = 0;
    f.phase = 'prompt';
    f.ps2 = false;
    return undefined;
  }
  if (!node) {
    if (src.eof) return sh.exit(s.status);
    src.text = '';
    src.pos = 0;
    f.phase = 'prompt';
    f.ps2 = false;
    return undefined;
  }
  src.pos = parser.pos;
  src.line = parser.line;
  // sh -c 'one simple command': exec it in place of the shell (no fork), as shells do.
  let execLast = false;
  if (f.first && s.mode === 'c' && node.t === 'simple' && Object.keys(s.traps).length === 0) {
    try {
      execLast = new Parser(src.text, src.pos, src.line).parseNext() === null;
    } catch {
      execLast = false;
    }
  }
  f.first = false;
  sh.pushNode(node, execLast);
  return undefined;
}
