/** Texts the shell prints about jobs: a command's short form and a job's state. */
import type { Node, Word } from './ast.js';

export const SIG_TEXT: Record<number, string> = {
  1: 'Hangup', 3: 'Quit', 4: 'Illegal instruction', 6: 'Aborted', 8: 'Floating point exception', 9: 'Killed',
  10: 'User defined signal 1', 11: 'Segmentation fault', 12: 'User defined signal 2', 14: 'Alarm clock', 15: 'Terminated',
};

/** A short text for a job list (`[1] Done  sleep 5`). */
export function nodeText(n: Node): string {
  switch (n.t) {
    case 'simple':
      return [...n.assigns.map((a) => `${a.name}=${wordText(a.value)}`), ...n.words.map(wordText)].join(' ');
    case 'pipeline':
      return n.cmds.map(nodeText).join(' | ');
    case 'andor':
      return [nodeText(n.first), ...n.rest.map((r) => `${r.op} ${nodeText(r.node)}`)].join(' ');
    case 'list':
      return n.items.map((i) => nodeText(i.node) + (i.async ? ' &' : '')).join('; ');
    case 'subshell':
      return `( ${nodeText(n.body)} )`;
    case 'group':
      return `{ ${nodeText(n.body)}; }`;
    default:
      return n.t;
  }
}

function wordText(w: Word): string {
  return w.parts
    .map((p) => {
      switch (p.t) {
        case 'lit': return p.v;
        case 'q': return p.v;
        case 'dq': return `"${wordText({ parts: p.parts })}"`;
        case 'param': return `$${p.name.length > 1 || p.op ? `{${p.name}${p.op}${p.arg ? wordText(p.arg) : ''}}` : p.name}`;
        case 'cmd': return `$(${nodeText(p.body)})`;
        case 'arith': return `$((${wordText(p.expr)}))`;
        case 'tilde': return `~${p.user}`;
      }
    })
    .join('');
}

/** A job's state as `jobs` and the interactive shell's notices show it: Running, Done, Exit N, or the signal. */
export function jobStateText(status: number | null): string {
  if (status === null) return 'Running';
  if (status === 0) return 'Done';
  return status > 128 ? SIG_TEXT[status - 128] ?? `Signal ${status - 128}` : `Exit ${status}`;
}
