/**
 * `sleep` durations as coreutils reads them (xstrtod): a non-negative decimal number, with an
 * optional exponent (`1e3`, `.5e1`) or `inf`/`infinity`, and an optional s/m/h/d suffix. In
 * nanoseconds; may be Infinity or beyond what one nanosleep takes (see `NANOSLEEP_MAX`).
 */
export function parseDuration(s: string): number | null {
  const m = /^((?:[0-9]*\.?[0-9]+|[0-9]+\.)(?:[eE][+-]?[0-9]+)?|inf|infinity)([smhd]?)$/i.exec(s);
  if (!m) return null;
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2]!.toLowerCase() as '' | 's' | 'm' | 'h' | 'd'];
  if (unit === undefined) return null;
  const v = /^inf/i.test(m[1]!) ? Infinity : Number(m[1]) * unit * 1e9;
  return v === Infinity ? Infinity : Math.round(v);
}

/**
 * The longest single nanosleep the model takes (its `int` arguments are safe integers: about 104
 * days). Longer sleeps are made of several, as coreutils' xnanosleep makes them of several when
 * time_t cannot hold the value: `sleep 99999999999999999999` or `sleep inf` sleep (almost) forever.
 */
export const NANOSLEEP_MAX = Number.MAX_SAFE_INTEGER;

/** What is left of a sleep after one nanosleep of `NANOSLEEP_MAX` at most (finite, for images). */
export function sleepChunk(left: number): { now: number; left: number } {
  const finite = Math.min(left, Number.MAX_VALUE);
  const now = Math.min(finite, NANOSLEEP_MAX);
  return { now, left: finite - now };
}

/** `sleep`'s operands summed, in nanoseconds; null after reporting a usage error on `err` (status 1). */
export function sleepOperands(operands: readonly string[], err: (text: string) => void): number | null {
  if (operands.length === 0) {
    err('sleep: missing operand\n');
    return null;
  }
  let ns = 0;
  for (const a of operands) {
    const d = parseDuration(a);
    if (d === null) {
      err(`sleep: invalid time interval '${a}'\n`);
      return null;
    }
    ns += d;
  }
  return Math.min(ns, Number.MAX_VALUE);
}
