/**
 * Command-line parsing for utilities: getopt(3)-style short options (`-la`, `-n 5`, `-n5`), long
 * options (`--pid`, `--target=5`, `--target 5`), `--` to end options. Options stop at the first
 * operand unless `permute` is set (GNU style).
 */

export interface OptSpec {
  /** Short letters; a letter followed by `:` takes a value (`"lTo:"`). */
  short?: string;
  /** Long names; a name ending in `=` takes a value. Mapped to a key (`{ 'pid': 'p' }`). */
  long?: Record<string, string>;
  permute?: boolean;
}

export interface Parsed {
  /** Option key → values (flags get `''`), in order of appearance. */
  opts: Map<string, string[]>;
  operands: string[];
}

export class UsageError extends Error {}

export function getopt(args: readonly string[], spec: OptSpec): Parsed {
  const opts = new Map<string, string[]>();
  const operands: string[] = [];
  const short = spec.short ?? '';
  const add = (k: string, v: string) => {
    const list = opts.get(k);
    if (list) list.push(v);
    else opts.set(k, [v]);
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      operands.push(...args.slice(i + 1));
      break;
    }
    if (a.startsWith('--') && spec.long) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const withValue = spec.long[`${name}=`];
      const flag = spec.long[name];
      // A name listed both ways takes an optional value (only as `--name=value`).
      if (withValue !== undefined && (eq >= 0 || flag === undefined)) {
        let v = eq < 0 ? args[++i] : a.slice(eq + 1);
        if (v === undefined) throw new UsageError(`option '--${name}' requires an argument`);
        add(withValue, v);
      } else if (flag !== undefined) {
        if (eq >= 0) throw new UsageError(`option '--${name}' doesn't allow an argument`);
        add(flag, '');
      } else throw new UsageError(`unrecognized option '--${name}'`);
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const c = a[j]!;
        const at = short.indexOf(c);
        if (at < 0 || c === ':') throw new UsageError(`invalid option -- '${c}'`);
        if (short[at + 1] === ':') {
          const v = j + 1 < a.length ? a.slice(j + 1) : args[++i];
          if (v === undefined) throw new UsageError(`option requires an argument -- '${c}'`);
          add(c, v);
          break;
        }
        add(c, '');
      }
      continue;
    }
    operands.push(a);
    if (!spec.permute) {
      operands.push(...args.slice(i + 1));
      break;
    }
  }
  return { opts, operands };
}

/** strtol with base auto-detection (`0x` hex, leading `0` octal), whole string; NaN otherwise. */
export function parseNumber(s: string): number {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(s.trim());
  if (!m) return NaN;
  const body = m[2]!;
  const v = /^0[xX]/.test(body) ? parseInt(body.slice(2), 16) : body.length > 1 && body[0] === '0' ? parseInt(body, 8) : parseInt(body, 10);
  return m[1] === '-' ? -v : v;
}
