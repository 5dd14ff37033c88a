/**
 * `nsd host …`: checkpoint/restart against the real Linux kernel (src/host, docs/host-backend.md).
 *
 *   nsd host dump -t PID -D DIR [-v]     the IPC namespace PID is in (and the shm attachments of its
 *                                        tasks) as CRIU-format images in DIR
 *   nsd host restore -D DIR [-v] [-- CMD [ARGS...]]
 *                                        recreate it in new pid + IPC namespaces; with CMD, run CMD
 *                                        there and exit with its status (the namespaces end with it);
 *                                        without, leave them held by the agent (its host pid printed)
 *   nsd host check                       what this kernel offers (root, set_tid, *_next_id, MSG_COPY,
 *                                        STAT_ANY)
 */
import { Command } from 'commander';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { imageEntry } from './files.js';
import { Agent, hostSupport } from '../host/agent.js';
import { formatReport, wrongLines } from '../host/compare.js';
import { dumpHost, dumpWith } from '../host/dump.js';
import { toImages } from '../host/images.js';
import { MANIFEST } from '../cr/manifest.js';
import { loadRestoreImages, type PagesFiles } from '../host/files.js';
import { restoreImages } from '../host/restore.js';
import { ImageError } from '../cr/image/index.js';
import type { HostIpcNs } from '../host/state.js';

/** Where the commands write and how they report their exit status (tests capture). */
export interface HostCommandIo {
  stdout(text: string): void;
  stderr(text: string): void;
  exit(status: number): void;
}

const PROCESS_IO: HostCommandIo = {
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => void process.stderr.write(t),
  exit: (s) => {
    process.exitCode = s;
  },
};

const why = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** A one-line summary of a namespace. */
export function summary(ns: HostIpcNs): string {
  const msgs = ns.msg.reduce((n, q) => n + q.messages.length, 0);
  return `${ns.msg.length} queues (${msgs} messages), ${ns.sem.length} semaphore sets, ${ns.shm.length} segments, ${ns.tasks.length} holder tasks`;
}

/**
 * Dumps the IPC namespace host pid `pid` is in into `dir` (existing, empty): the agent writes the
 * segments' pages images there itself, this process the other images and the manifest. With
 * `agent`, a 'plain' agent to use (left running). Returns the namespace (its segments' contents
 * in the files, HostShm.pages) and how many images the directory holds.
 */
export async function dumpToDir(pid: number, dir: string, agent?: Agent): Promise<{ ns: HostIpcNs; images: number }> {
  const abs = resolve(dir);
  const ns = agent ? await dumpWith(agent, pid, { pagesDir: abs }) : await dumpHost(pid, { pagesDir: abs });
  const written = ns.shm.flatMap((s) => (s.pages ? [imageEntry(abs, `pages-${s.pages.id}.img`)] : []));
  const images = toImages(ns, written);
  for (const [name, bytes] of images) writeFileSync(join(abs, name), bytes);
  return { ns, images: images.size + written.length };
}

/** `nsd host dump`. */
export async function hostDump(pid: number, dir: string, verbose: boolean, io: HostCommandIo): Promise<number> {
  const sup = hostSupport();
  if (!sup.ok) {
    io.stderr(`nsd host dump: ${sup.reason}\n`);
    return 1;
  }
  try {
    mkdirSync(dir, { recursive: true });
    if (readdirSync(dir).some((n) => n.endsWith('.img') || n === MANIFEST)) throw new Error(`${dir} already holds images; use an empty directory`);
    const { ns, images } = await dumpToDir(pid, dir);
    io.stdout(`dumped the IPC namespace of pid ${pid}: ${summary(ns)} → ${dir} (${images} images)\n`);
    for (const n of ns.notes) io.stdout(`  not saved: ${n}\n`);
    if (verbose) for (const t of ns.tasks) io.stdout(`  task ${t.pid}: ${t.attach.map((a) => `shm ${a.shmid} at 0x${a.start.toString(16)}`).join(', ')}\n`);
    return 0;
  } catch (e) {
    io.stderr(`nsd host dump: ${why(e)}\n`);
    return 1;
  }
}

/** `nsd host restore`. */
export async function hostRestore(dir: string, cmd: string[], verbose: boolean, io: HostCommandIo, verify = true): Promise<number> {
  const sup = hostSupport();
  if (!sup.ok) {
    io.stderr(`nsd host restore: ${sup.reason}\n`);
    return 1;
  }
  // The agent starts while the images are read (restoreImages' `starting`).
  const starting = Agent.start('ns', { passStdio: cmd.length > 0 });
  starting.catch(() => undefined); // reported by restoreImages when awaited
  let read: { images: Map<string, Uint8Array>; pages?: PagesFiles };
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    // The pages images stay in the directory: the agent reads them (src/host/files.ts).
    read = await loadRestoreImages(dir, starting);
  } catch (e) {
    io.stderr(`nsd host restore: ${dir}: ${why(e)}; nothing was restored\n`);
    await (await starting.catch(() => undefined))?.close();
    return 1;
  }
  let agent: Agent | undefined;
  try {
    // Decoded kind by kind, each kind's operations running in the agent while the next is read.
    const r = await restoreImages(read.images, { starting, verify, ...(read.pages ? { pages: read.pages } : {}) });
    const ns = r.ns;
    agent = r.agent;
    const wrong = wrongLines(r.report);
    if (wrong.length > 0) {
      io.stderr(`nsd host restore: the restored namespace differs from the images:\n${formatReport(wrong)}nothing was restored\n`);
      return 1;
    }
    const lost = r.report.length;
    if (!verify) io.stderr(`restored ${summary(ns)} from ${dir} (${ns.source} images, ${r.ops} operations); not verified (--no-verify)\n`);
    else io.stderr(`restored ${summary(ns)} from ${dir} (${ns.source} images, ${r.ops} operations); ${lost} field${lost === 1 ? '' : 's'} the kernel cannot set${verbose || lost === 0 ? '' : ' (-v lists them)'}\n`);
    if (verbose) io.stderr(formatReport(r.report));
    for (const m of r.missing) io.stderr(`  not in the images: ${m}\n`);
    if (cmd.length === 0) {
      const pid = agent.hostPid;
      await agent.hold();
      agent = undefined;
      io.stdout(`held by pid ${pid} (enter: nsenter -t ${pid} -p -i; end: kill ${pid})\n`);
      return 0;
    }
    const res = await agent.call('EXEC', [0, 0], new TextEncoder().encode(cmd.map((a) => `${a}\0`).join('')), `running ${cmd[0]}`);
    const st = Number(res.ret);
    // A wait status: exited (code in bits 8–15) or killed by a signal (low 7 bits).
    return (st & 0x7f) === 0 ? (st >> 8) & 0xff : 128 + (st & 0x7f);
  } catch (e) {
    io.stderr(`nsd host restore: ${e instanceof ImageError ? `${dir}: ` : ''}${why(e)}; nothing was restored\n`);
    return 1;
  } finally {
    await agent?.close();
  }
}

/** `nsd host check`: one line per feature. */
export async function hostCheck(io: HostCommandIo): Promise<number> {
  const sup = hostSupport();
  if (!sup.ok) {
    io.stdout(`host backend: no (${sup.reason})\n`);
    return 1;
  }
  const agent = await Agent.start('plain');
  try {
    const r = await agent.call('CHECK', []);
    const text = Buffer.from(r.data).toString('utf8');
    io.stdout(text.split('\n').filter(Boolean).map((l) => {
      const [name, ok, ...detail] = l.split(' ');
      return `${name!.padEnd(12)} ${ok!.padEnd(4)} ${detail.join(' ')}\n`;
    }).join(''));
    return /\bno\b/.test(text.split('\n').map((l) => l.split(' ')[1]).join(' ')) ? 1 : 0;
  } catch (e) {
    io.stderr(`nsd host check: ${why(e)}\n`);
    return 1;
  } finally {
    await agent.close();
  }
}

/** Adds `host dump|restore|check` to the `nsd` program. */
export function addHostCommands(program: Command, io: HostCommandIo = PROCESS_IO): Command {
  const host = program.command('host').description('checkpoint/restore a SysV IPC namespace of the real Linux kernel (root; see docs/host-backend.md)');
  host
    .command('dump')
    .description('save the IPC namespace host pid PID is in (and its tasks\' shm attachments) as CRIU images in DIR')
    .requiredOption('-t, --tree <pid>', 'a host pid in the IPC namespace to dump', (v: string) => {
      if (!/^\d+$/.test(v) || Number(v) <= 0) throw new Error(`bad pid '${v}'`);
      return Number(v);
    })
    .requiredOption('-D, --images-dir <dir>', 'directory for the images (created if missing; must hold no images)')
    .option('-v, --verbose', 'list the holder tasks', false)
    .action(async (o: { tree: number; imagesDir: string; verbose: boolean }) => io.exit(await hostDump(o.tree, o.imagesDir, o.verbose, io)));
  host
    .command('restore')
    .description('recreate the IPC namespace of DIR (a host, model or CRIU dump) in new pid + IPC namespaces; with CMD, run it there')
    .requiredOption('-D, --images-dir <dir>', 'directory holding the images')
    .option('-v, --verbose', 'list every field the kernel could not set', false)
    .option('--no-verify', 'skip the re-dump that compares the result with the images field by field (on the 2,100-object bench namespace: 100–360 ms on a loaded 2-core machine, an eighth to a third of a verified restore)')
    .argument('[cmd...]', 'a command to run in the restored namespaces (after --)')
    .passThroughOptions()
    .action(async (cmd: string[], o: { imagesDir: string; verbose: boolean; verify: boolean }) => io.exit(await hostRestore(o.imagesDir, cmd, o.verbose, io, o.verify)));
  host
    .command('check')
    .description('what this kernel supports for the host backend (root, set_tid, *_next_id, MSG_COPY, STAT_ANY)')
    .action(async () => io.exit(await hostCheck(io)));
  return program;
}
