/** `sleep` durations: a non-negative decimal number with an optional s/m/h/d suffix, in nanoseconds. */
export function parseDuration(s: string): number | null {
  const m = /^([0-9]*\.?[0-9]+|[0-9]+\.)([smhd]?)$/.exec(s);
  if (!m) return null;
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  return Math.round(Number(m[1]) * unit * 1e9);
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
  return ns;
}
