/**
 * /bin/sh: `sh -c CMDS [NAME [ARGS…]]`, `sh SCRIPT [ARGS…]`, `sh -i` (interactive), `sh` (commands
 * from standard input). Options -e -x -u are accepted by `sh` and `set` (-x is honoured).
 * See docs/shell.md for the language and the NOFORK builtins.
 */
import { defineUserlandProgram } from '../lib/program.js';
import { readText } from '../lib/files.js';
import { Interp } from './interp.js';
import { setupInteractive } from './jobs.js';
import type { ShState } from './state.js';

/** Where `installUserland` puts the shell (`/bin/sh`). */
export const SH_PATH = '/bin/sh';

interface Boot {
  /** An error to report at the first step (script not found, bad option). */
  error: string | null;
  code: number;
  started: boolean;
}

type State = ShState & { boot: Boot };

function initialState(argv: readonly string[], envp: readonly string[]): State {
  const vars: Record<string, string> = {};
  const exported: Record<string, boolean> = {};
  for (const e of envp) {
    const eq = e.indexOf('=');
    if (eq <= 0) continue;
    vars[e.slice(0, eq)] = e.slice(eq + 1);
    exported[e.slice(0, eq)] = true;
  }
  const s: State = {
    vars, exported, funcs: {}, pos: [], arg0: argv[0] ?? 'sh', status: 0, lastBg: 0, pid: 0,
    interactive: false, mode: 'stdin', src: { text: '', pos: 0, line: 1, eof: false },
    frames: [{ k: 'top', phase: 'prompt', first: true, ps2: false }], traps: {}, pendingSigs: [], jobs: [], nextJob: 1,
    line: 1, sub: false, opts: '', boot: { error: null, code: 0, started: false },
  };
  let i = 1;
  let cmds: string | null = null;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (!/^[-+][a-z]+$/.test(a)) break;
    for (const c of a.slice(1)) {
      if (c === 'c') cmds = '';
      else if (c === 'i') s.interactive = true;
      else if (c === 's') continue;
      else if ('exu'.includes(c)) s.opts += c;
      else {
        s.boot.error = `sh: -${c}: invalid option\n`;
        s.boot.code = 2;
      }
    }
  }
  if (cmds !== null) {
    if (i >= argv.length) {
      s.boot.error = 'sh: -c: option requires an argument\n';
      s.boot.code = 2;
      return s;
    }
    s.mode = 'c';
    s.src = { text: argv[i]!, pos: 0, line: 1, eof: true };
    if (i + 1 < argv.length) s.arg0 = argv[i + 1]!;
    s.pos = argv.slice(i + 2);
    s.frames = [{ k: 'top', phase: 'next', first: true, ps2: false }];
  } else if (i < argv.length && !s.interactive) {
    s.mode = 'script';
    s.arg0 = argv[i]!;
    s.pos = argv.slice(i + 1);
    s.frames = [{ k: 'top', phase: 'next', first: false, ps2: false }];
  } else {
    s.mode = s.interactive ? 'interactive' : 'stdin';
    s.pos = argv.slice(i);
  }
  return s;
}

defineUserlandProgram<State>({
  name: SH_PATH,
  ownsWriteErrors: true,
  start({ argv, envp, sys }) {
    const s = initialState(argv, envp);
    s.pid = sys.getpid();
    s.vars['PPID'] = String(sys.getppid());
    s.vars['PWD'] = sys.getcwd();
    if (s.vars['PS1'] === undefined) s.vars['PS1'] = sys.geteuid() === 0 ? '# ' : '$ ';
    if (s.vars['PS2'] === undefined) s.vars['PS2'] = '> ';
    if (s.vars['PATH'] === undefined) s.vars['PATH'] = '/bin:/sbin:/usr/bin';
    return s;
  },
  step(p) {
    const s = p.state;
    if (!s.boot.started) {
      s.boot.started = true;
      if (s.boot.error) {
        p.err(s.boot.error);
        return p.exit(s.boot.code);
      }
      const sh = new Interp(p);
      if (s.mode === 'script') {
        const text = readText(p.sys, s.arg0);
        if (text === null) {
          const st = p.attempt(() => p.sys.stat(s.arg0));
          p.err(`sh: ${s.arg0}: ${st.ok ? 'Permission denied' : 'No such file or directory'}\n`);
          return p.exit(st.ok ? 126 : 127);
        }
        s.src = { text, pos: 0, line: 1, eof: true };
      }
      if (s.interactive) setupInteractive(sh);
      return sh.run();
    }
    return new Interp(p).run();
  },
});
