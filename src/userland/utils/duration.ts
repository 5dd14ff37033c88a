/** `sleep` durations: a non-negative decimal number with an optional s/m/h/d suffix, in nanoseconds. */
export function parseDuration(s: string): number | null {
  const m = /^([0-9]*\.?[0-9]+|[0-9]+\.)([smhd]?)$/.exec(s);
  if (!m) return null;
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  return Math.round(Number(m[1]) * unit * 1e9);
}
