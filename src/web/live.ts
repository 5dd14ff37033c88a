/**
 * Drives a web view from a running kernel: publishes the view of `kernel.snapshot()` a few times a
 * second (only when it changed), keeps the console's last output, and reports the end of the
 * session or a kernel panic. The kernel is read, never written.
 */
import type { Kernel } from '../syscalls/scheduler.js';
import { WebServer } from './server.js';
import { buildView, type CrView, type View } from './view.js';

const CONSOLE_MAX = 8192;

export class LiveView {
  private console = '';
  private timer: NodeJS.Timeout | null = null;
  cr: CrView | null = null;

  constructor(readonly web: WebServer, private kernel: Kernel | null, intervalMs = 150) {
    this.timer = setInterval(() => this.publish(), intervalMs);
    this.timer.unref();
  }

  static async start(kernel: Kernel | null, opts: { port?: number; intervalMs?: number } = {}): Promise<LiveView> {
    const web = await WebServer.start({ port: opts.port });
    const live = new LiveView(web, kernel, opts.intervalMs);
    live.publish();
    return live;
  }

  get url(): string {
    return this.web.url;
  }

  /** Follows another kernel from now on. */
  follow(kernel: Kernel): void {
    this.kernel = kernel;
    this.publish();
  }

  /** Appends console output (shown at the bottom of the page). */
  output(text: string): void {
    this.console = (this.console + text).slice(-CONSOLE_MAX);
  }

  /** The current view. */
  view(status: View['status'] = 'running', message = ''): View {
    const v = this.kernel ? buildView(this.kernel.snapshot(), status, message) : buildView(emptyState(), status, message);
    v.cr = this.cr;
    v.console = this.console;
    return v;
  }

  /** Shows a step of a dump, restore or migration (one progress row per phase) at once. */
  progress(p: CrView['progress'][number]): void {
    const cr = (this.cr ??= { progress: [], table: [], verdicts: {} });
    const row = cr.progress.find((r) => r.phase === p.phase);
    if (row) Object.assign(row, p);
    else cr.progress.push({ ...p });
    this.publish();
  }

  publish(): void {
    this.web.publish(this.view());
  }

  /** The session ended (or the kernel panicked: `panic` carries the message). */
  end(message: string, panic = false): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const status = panic || this.kernel?.s.panicked ? 'panic' : 'ended';
    const why = this.kernel?.s.panicked ? `Kernel panic - not syncing: ${this.kernel.s.panicked}` : message;
    this.web.publish(this.view(status, why));
    this.web.end(status, why);
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.web.close();
  }
}

/** A view with nothing in it (before a kernel exists). */
function emptyState(): Parameters<typeof buildView>[0] {
  return {
    profile: 'linux-6', clockNs: 0, bootNs: 0, nextId: 0, pidMax: 0, rootPidNs: 0, rootIpcNs: 0, tasks: new Map(), procs: new Map(), pidns: new Map(),
    ipcns: new Map(), fdtables: new Map(), files: new Map(), inodes: new Map(), rootIno: 0, mms: new Map(), runq: [], sleepSeq: 0, sched: { steps: 0, seed: 0 },
    panicked: null, ipc: { semUndo: new Map(), pids: new Map() },
  };
}
