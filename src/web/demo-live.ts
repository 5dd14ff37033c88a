/**
 * `nsd demo --web`: the demo's dump and restores shown in the page as they happen. `runDemo` is
 * synchronous (one kernel stepped to the end), so it runs in a worker thread (demo-worker.ts) and
 * posts each step here; this thread puts it in the view's c/r part (`LiveView.progress`: one row per
 * phase) and publishes it over the server-sent events at once. The before/after table follows at the end.
 */
import { Worker } from 'node:worker_threads';
import type { DemoOptions, DemoProgress, DemoResult } from '../cr/demo.js';
import type { LiveView } from './live.js';

/**
 * Runs the demo in a worker, publishing its progress and output on `live`; resolves with its result.
 * `stepMs`: the worker waits this long after each dump/restore step, so the steps can be watched.
 */
export function runDemoLive(live: LiveView, out: (s: string) => void, opts: Omit<DemoOptions, 'onProgress' | 'tty'> = {}, stepMs = 0): Promise<DemoResult> {
  const worker = new Worker(new URL('./demo-worker.js', import.meta.url), { workerData: { opts, stepMs } });
  return new Promise<DemoResult>((resolve, reject) => {
    let settled = false;
    worker.on('message', (m: { out?: string; progress?: DemoProgress; result?: DemoResult; error?: string }) => {
      if (m.out !== undefined) {
        live.output(m.out);
        out(m.out);
      } else if (m.progress) {
        live.progress(m.progress);
      } else if (m.result) {
        settled = true;
        live.cr = { progress: live.cr?.progress ?? [], table: m.result.table, verdicts: m.result.verdicts };
        live.publish();
        resolve(m.result);
      } else if (m.error !== undefined) {
        settled = true;
        reject(new Error(`the demo failed: ${m.error}`));
      }
    });
    worker.on('error', (e) => {
      settled = true;
      reject(e);
    });
    worker.on('exit', (code) => {
      if (!settled) reject(new Error(`the demo's worker exited with code ${code} before finishing`));
    });
  });
}
