/**
 * xargs (GNU findutils): reads items from standard input — blank- or newline-separated, with `'…'`,
 * `"…"` and backslash quoting, or NUL-separated with -0 — and runs COMMAND (default echo) with them,
 * forking, exec'ing and waiting for each batch. Options: -n MAX, -I REPLACE (one line per command,
 * REPLACE in the arguments replaced), -0, -r (nothing to do without input), -t (print each command
 * on stderr). Status as GNU's: 123 if a command exited 1–125, 124 if one exited 255 (xargs stops),
 * 125 if one was killed by a signal, 126 cannot run, 127 not found.
 */
import { strerror } from '../../abi/errno.js';
import { getopt, UsageError } from '../lib/args.js';
import { newInput, pumpInput, type InputState } from '../lib/input.js';
import { findExecutable } from '../lib/process.js';
import { defineUserlandProgram, envValue, toText } from '../lib/program.js';

interface XargsState {
  inp: InputState;
  text: string;
  cmd: string[];
  max: number;
  repl: string | null;
  nul: boolean;
  noEmpty: boolean;
  trace: boolean;
  batches: string[][] | null;
  /** Index of the batch being run; its child pid while it runs. */
  b: number;
  pid: number;
  phase: 'read' | 'fork' | 'wait' | 'exec';
  status: number;
}

/** Items of the input; a quoting error ends the list (with the message). */
export function xargsItems(text: string, nul: boolean, lines: boolean): { items: string[]; error: string | null } {
  if (nul) return { items: text.split('\0').filter((x, i, a) => x !== '' || i < a.length - 1), error: null };
  const items: string[] = [];
  if (lines) {
    for (const l of text.split('\n')) if (l.trim() !== '') items.push(l.replace(/^[ \t]+/, ''));
    return { items, error: null };
  }
  let cur = '';
  let has = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      const nl = text.indexOf('\n', i + 1);
      if (end < 0 || (nl >= 0 && nl < end)) {
        return { items, error: `unmatched ${c === "'" ? 'single' : 'double'} quote; by default quotes are special to xargs unless you use the -0 option` };
      }
      cur += text.slice(i + 1, end);
      has = true;
      i = end;
    } else if (c === '\\' && i + 1 < text.length) {
      cur += text[++i];
      has = true;
    } else if (c === ' ' || c === '\t' || c === '\n') {
      if (has) items.push(cur);
      cur = '';
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (has) items.push(cur);
  return { items, error: null };
}

defineUserlandProgram<XargsState | null>({
  name: '/bin/xargs',
  start: () => null,
  step(p) {
    if (p.state === null) {
      try {
        const { opts, operands } = getopt(p.argv.slice(1), { short: 'n:I:0rt', long: { 'max-args=': 'n', null: '0', 'no-run-if-empty': 'r', verbose: 't' } });
        const n = opts.get('n')?.[0];
        if (n !== undefined && !/^[0-9]+$/.test(n)) throw new UsageError(`invalid number "${n}" for -n option`);
        if (n !== undefined && Number(n) < 1) throw new UsageError(`value ${n} for -n option should be >= 1`);
        p.state = {
          inp: newInput([]), text: '', cmd: operands.length ? operands : ['echo'], max: n !== undefined ? Number(n) : Infinity,
          repl: opts.get('I')?.[0] ?? null, nul: opts.has('0'), noEmpty: opts.has('r'), trace: opts.has('t'),
          batches: null, b: 0, pid: 0, phase: 'read', status: 0,
        };
      } catch (e) {
        if (!(e instanceof UsageError)) throw e;
        p.err(`xargs: ${e.message}\nTry 'xargs --help' for more information.\n`);
        return p.exit(1);
      }
    }
    const s = p.state;
    if (s.phase === 'read') {
      const out = pumpInput(p, 'xargs', s.inp, { data: (b) => void (s.text += toText(b)) });
      if (out !== null) return out;
      const { items, error } = xargsItems(s.text, s.nul, s.repl !== null);
      s.text = '';
      if (error) {
        p.err(`xargs: ${error}\n`);
        s.status = 1;
      }
      const batches: string[][] = [];
      if (s.repl !== null) for (const it of items) batches.push(s.cmd.map((a) => a.split(s.repl!).join(it)));
      else for (let i = 0; i < items.length; i += Math.min(s.max, items.length - i) || 1) batches.push([...s.cmd, ...items.slice(i, i + Math.min(s.max, items.length - i))]);
      if (batches.length === 0 && !s.noEmpty && s.repl === null && !error) batches.push([...s.cmd]);
      s.batches = batches;
      s.phase = 'fork';
    }
    const batches = s.batches!;
    if (s.phase === 'exec') {
      // The child: execve failed.
      const code = p.errno ?? 'ENOEXEC';
      p.err(`xargs: ${batches[s.b]![0]}: ${strerror(code)}\n`);
      return p.exit(code === 'ENOENT' ? 127 : 126);
    }
    if (s.phase === 'wait') {
      if (!p.ok) {
        if (p.errno === 'EINTR') return p.call('wait4', s.pid, 0);
        return p.exit(1);
      }
      const w = p.value<{ status: number }>().status;
      const sig = w & 0x7f;
      const code = (w >> 8) & 0xff;
      if (sig !== 0) {
        p.err(`xargs: ${batches[s.b]![0]}: terminated by signal ${sig}\n`);
        return p.exit(125);
      }
      if (code === 255) {
        p.err(`xargs: ${batches[s.b]![0]}: exited with status 255; aborting\n`);
        return p.exit(124);
      }
      if (code === 126 || code === 127) return p.exit(code);
      if (code !== 0) s.status = 123;
      s.b++;
      s.phase = 'fork';
      return undefined;
    }
    // 'fork': the next batch, or the end.
    if (p.result && p.ok && s.pid === -1) {
      const pid = p.value<number>();
      if (pid === 0) {
        const argv = batches[s.b]!;
        const path = findExecutable(p.sys, argv[0]!, envValue(p.envp, 'PATH'));
        if (!path) {
          p.err(`xargs: ${argv[0]}: No such file or directory\n`);
          return p.exit(127);
        }
        s.phase = 'exec';
        return p.call('execve', path, argv, [...p.envp]);
      }
      s.pid = pid;
      s.phase = 'wait';
      return p.call('wait4', pid, 0);
    }
    if (p.result && !p.ok && s.pid === -1) {
      p.err(`xargs: cannot fork: ${strerror(p.errno!)}\n`);
      return p.exit(1);
    }
    if (s.b >= batches.length) return p.exit(s.status);
    if (s.trace) p.err(batches[s.b]!.join(' ') + '\n');
    s.pid = -1;
    return p.call('fork');
  },
});
