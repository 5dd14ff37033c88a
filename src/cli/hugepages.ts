/**
 * Large memory: `nsd dump`, `restore`, `pre-dump`, `migrate` and `page-server` re-exec themselves
 * once with `GLIBC_TUNABLES=glibc.malloc.hugetlb=1` added to the environment.
 *
 * Why. Images and segments are large ArrayBuffers; Node allocates them with glibc's malloc, which
 * serves them from fresh mmap()s. On a VM a fresh 4 KiB page costs ~11 µs to fault in, so the first
 * touch of 256 MiB takes ~0.7 s whatever the code does. With the tunable (glibc ≥ 2.35) malloc
 * madvise(MADV_HUGEPAGE)s those mappings, and with transparent huge pages in the usual `madvise`
 * mode they fault in 2 MiB at a time (docs/performance.md: 256 MiB written and read from tmpfs
 * 0.5–2 s → 80–100 ms). A glibc without the tunable, or THP `never`, ignores it: the only cost is
 * the second start of Node (~50 ms), which the commands that move no memory do not pay.
 *
 * Opting out: NSD_HUGEPAGES=0 (or GLIBC_TUNABLES already naming glibc.malloc.hugetlb, which is
 * left as it is). The re-exec'd process inherits stdio and its exit status (or signal) is ours.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export const HUGETLB_TUNABLE = 'glibc.malloc.hugetlb=1';
/** The commands that move images or memory. */
export const HUGEPAGE_COMMANDS: ReadonlySet<string> = new Set(['dump', 'restore', 'pre-dump', 'migrate', 'page-server']);

/** The command a command line names: its first argument that is not an option (`nsd [-V] host …`). */
export function commandOf(argv: readonly string[]): string | undefined {
  return argv.slice(2).find((a) => !a.startsWith('-'));
}

/** The GLIBC_TUNABLES value to re-exec with, or null to run as we are. */
export function hugepageTunables(argv: readonly string[], env: NodeJS.ProcessEnv, platform: string, thp: string | null): string | null {
  if (platform !== 'linux' || env['NSD_HUGEPAGES'] === '0') return null;
  const cmd = commandOf(argv);
  if (!cmd || !HUGEPAGE_COMMANDS.has(cmd)) return null;
  const have = env['GLIBC_TUNABLES'] ?? '';
  if (have.includes('glibc.malloc.hugetlb')) return null;
  // THP off: nothing to gain (the file reads "always madvise [never]").
  if (thp === null || thp.includes('[never]')) return null;
  return have ? `${have}:${HUGETLB_TUNABLE}` : HUGETLB_TUNABLE;
}

function thpMode(): string | null {
  try {
    return readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8');
  } catch {
    return null;
  }
}

/** Re-execs this process with huge pages for malloc when `hugepageTunables` says so; returns otherwise. */
export function reexecWithHugepages(): void {
  const tunables = hugepageTunables(process.argv, process.env, process.platform, process.platform === 'linux' ? thpMode() : null);
  if (tunables === null) return;
  const r = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, GLIBC_TUNABLES: tunables } });
  if (r.error) return; // could not start: run here, without huge pages
  if (r.signal) process.kill(process.pid, r.signal);
  process.exit(r.status ?? 1);
}

reexecWithHugepages();
