/**
 * The shell interpreter: the `Shell` core (shell.ts) plus the dispatch over frame kinds. Each frame
 * family lives in its own module, as dash splits eval.c, jobs.c, redir.c and expand.c: top.ts
 * (reading commands), compound.ts (lists, if, loops, case, break/continue/return), simple.ts
 * (simple commands), external.ts (execve), jobs.ts (fork, pipelines, background jobs), subst.ts
 * (`$(…)`), redir.ts (redirections) and builtins.ts.
 */
import type { Frame } from './state.js';
import { Shell, type Outcome } from './shell.js';
import { execTop } from './top.js';
import { execAndOr, execCase, execFor, execIf, execList, execLoop } from './compound.js';
import { execSimple } from './simple.js';
import { execFork, execPipe } from './jobs.js';
import { execRedir } from './redir.js';
import { execCmdSub, execSubst } from './subst.js';
import { execBuiltinFrame } from './builtins.js';

export class Interp extends Shell {
  protected exec(f: Frame): Outcome {
    switch (f.k) {
      case 'top': return execTop(this, f);
      case 'list': return execList(this, f);
      case 'andor': return execAndOr(this, f);
      case 'simple': return execSimple(this, f);
      case 'pipe': return execPipe(this, f);
      case 'fork': return execFork(this, f);
      case 'exit-after': return this.exit(f.ret ?? this.s.status);
      case 'redir': return execRedir(this, f);
      case 'if': return execIf(this, f);
      case 'loop': return execLoop(this, f);
      case 'for': return execFor(this, f);
      case 'case': return execCase(this, f);
      case 'subst': return execSubst(this, f);
      case 'cmdsub': return execCmdSub(this, f);
      case 'func': {
        this.s.pos = f.saved;
        this.finish(f.ret ?? 0);
        return undefined;
      }
      case 'trap': {
        this.s.frames.pop();
        this.s.status = f.status;
        return undefined;
      }
      case 'exit-trap':
        return { exit: f.code & 0xff };
      case 'const':
        this.finish(f.v);
        return undefined;
      default:
        return execBuiltinFrame(this, f);
    }
  }
}
