/**
 * `npm run fuzz [-- --seed N] [--scale X] [CAMPAIGN...]`: the project's own fuzzing campaigns
 * (bounded, seeded, counted). Exit status 1 when any campaign found a failure.
 */
import { Command, InvalidArgumentError } from 'commander';
import type { Campaign, CampaignResult } from './lib.js';
import { campaign as syscalls } from './campaigns/syscalls.js';
import { campaign as nsd } from './campaigns/nsd.js';
import { campaign as images } from './campaigns/images.js';
import { campaign as shell } from './campaigns/shell.js';

export const CAMPAIGNS: readonly Campaign[] = [syscalls, nsd, images, shell];

function num(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('a positive number');
  return n;
}

const program = new Command()
  .name('fuzz')
  .description('run the fuzzing campaigns: ' + CAMPAIGNS.map((c) => `${c.name} (${c.description})`).join('; '))
  .argument('[campaigns...]', 'which campaigns (default: all)')
  .option('--seed <n>', 'seed', (v) => Math.trunc(num(v)), 20080708)
  .option('--scale <x>', 'multiplier on each campaign size', num, 1)
  .option('-v, --verbose', 'print progress lines')
  .action((names: string[], opts: { seed: number; scale: number; verbose?: boolean }) => {
    const unknown = names.filter((n) => !CAMPAIGNS.some((c) => c.name === n));
    if (unknown.length) {
      process.stderr.write(`fuzz: unknown campaign ${unknown.join(', ')} (have: ${CAMPAIGNS.map((c) => c.name).join(', ')})\n`);
      process.exitCode = 2;
      return;
    }
    const chosen = names.length ? CAMPAIGNS.filter((c) => names.includes(c.name)) : CAMPAIGNS;
    let failed = 0;
    for (const c of chosen) {
      const t0 = Date.now();
      let r: CampaignResult;
      try {
        r = c.run({ seed: opts.seed, scale: opts.scale, log: (l) => opts.verbose && process.stderr.write(`  ${c.name}: ${l}\n`) });
      } catch (e) {
        r = { counts: {}, failures: [{ case: '(campaign)', message: e instanceof Error ? (e.stack ?? e.message) : String(e) }] };
      }
      const counts = Object.entries(r.counts).map(([k, v]) => `${k} ${v}`).join(', ');
      process.stdout.write(`${c.name}: ${counts || 'nothing run'}; ${r.failures.length} failures (${((Date.now() - t0) / 1000).toFixed(1)} s, seed ${opts.seed})\n`);
      for (const f of r.failures.slice(0, 20)) process.stdout.write(`  FAIL ${f.case}: ${f.message}\n`);
      if (r.failures.length > 20) process.stdout.write(`  … ${r.failures.length - 20} more\n`);
      failed += r.failures.length;
    }
    process.stdout.write(`fuzz: ${failed === 0 ? 'no failures' : `${failed} failures`}\n`);
    process.exitCode = failed === 0 ? 0 : 1;
  });

program.parse();
