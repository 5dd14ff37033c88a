/**
 * The worker thread of `runDemoLive` (demo-live.ts): runs the synchronous `runDemo` off the main
 * thread, so the main thread's event loop stays free to send its progress to the page as it
 * happens. Messages to the parent: `{ out }` (output text), `{ progress }` (a DemoProgress),
 * `{ result }` (the DemoResult, plain data) or `{ error }`. With `stepMs` > 0 the worker waits that
 * long after each dump or restore step (the whole c/r takes ~80 ms: too fast to watch).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runDemo, type DemoOptions } from '../cr/demo.js';

const port = parentPort!;
const { opts, stepMs } = workerData as { opts: Omit<DemoOptions, 'onProgress' | 'tty'>; stepMs: number };
/** Holds this thread (only) after each step, so a person can follow the steps in the page. */
const pause = new Int32Array(new SharedArrayBuffer(4));
try {
  const result = runDemo((out) => port.postMessage({ out }), {
    ...opts,
    tty: false,
    onProgress: (progress) => {
      port.postMessage({ progress });
      if (stepMs > 0) Atomics.wait(pause, 0, 0, stepMs);
    },
  });
  port.postMessage({ result });
} catch (e) {
  port.postMessage({ error: e instanceof Error ? e.message : String(e) });
}
