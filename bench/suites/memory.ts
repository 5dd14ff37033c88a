/**
 * Section 5: memory per task, message, IPC object and fd at the largest N of the scaling section,
 * each measured in its own child process (node --expose-gc) so the heaps do not mix.
 * `heap` is heapUsed + arrayBuffers (message texts and shm contents are ArrayBuffers).
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MemoryReading, Unit } from '../memory-child.js';
import type { MemoryFigure } from '../lib/types.js';

export const MEMORY_CASES: { unit: Unit; label: string; n: number }[] = [
  { unit: 'task', label: 'per task (process)', n: 10_000 },
  { unit: 'message', label: 'per 64 B message', n: 100_000 },
  { unit: 'msg-queue', label: 'per message queue', n: 32_768 },
  { unit: 'sem-set', label: 'per semaphore set (1 sem)', n: 32_768 },
  { unit: 'shm-segment', label: 'per shm segment (4 KiB)', n: 32_768 },
  { unit: 'fd', label: 'per fd (open file)', n: 65_536 },
];

export function measureMemory(unit: Unit, label: string, n: number): MemoryFigure {
  const child = join(dirname(fileURLToPath(import.meta.url)), '..', 'memory-child.js');
  const r = spawnSync(process.execPath, ['--expose-gc', child, unit, String(n)], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`memory-child ${unit} ${n} failed: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`);
  const m = JSON.parse(r.stdout.trim().split('\n').pop()!) as MemoryReading;
  const heap = (u: NodeJS.MemoryUsage) => u.heapUsed + u.arrayBuffers;
  return {
    id: unit,
    label,
    n,
    heapBytesPerUnit: (heap(m.after) - heap(m.before)) / n,
    heapUsedBytesPerUnit: (m.after.heapUsed - m.before.heapUsed) / n,
    rssBytesPerUnit: (m.after.rss - m.before.rss) / n,
  };
}
