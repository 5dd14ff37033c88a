/**
 * The shape every fuzz campaign shares. A campaign is bounded and seeded: the same seed and scale
 * run the same cases. It counts what it ran and returns every failure it found (a failure is a
 * defect: an exception other than ErrnoError/WouldBlockError leaving a syscall, a restore that is
 * neither refused nor identical, an oracle mismatch, a host crash or JS stack trace).
 */
export interface CampaignOptions {
  /** Seed for fast-check / the campaign's own PRNG. */
  seed: number;
  /** Multiplier on the campaign's default case count (1 = the full `npm run fuzz` size). */
  scale: number;
  /** Progress/diagnostic lines (may be ignored). */
  log(line: string): void;
}

export interface CampaignFailure {
  /** Which case (enough to reproduce it with the same seed). */
  case: string;
  /** What went wrong. */
  message: string;
}

export interface CampaignResult {
  /** Named counts, printed as `name: count` (e.g. `syscalls: 104000`, `round trips: 104`). */
  counts: Record<string, number>;
  failures: CampaignFailure[];
}

export interface Campaign {
  name: string;
  description: string;
  run(opts: CampaignOptions): CampaignResult;
}

/** A distinct fast-check seed for part `i` of a run with `seed` (runs with nearby seeds share no parts). */
export function mixSeed(seed: number, i: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(i + 1, 0xc2b2ae35)) | 0;
}

/** mulberry32, the small seeded PRNG the campaigns replay from (one implementation, the explorer's). */
export { rng } from '../src/races/explore.js';
