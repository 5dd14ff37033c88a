/**
 * Shared by the host-backend tests: whether the real kernel can be used (root, Linux, gcc; skip
 * with the reason otherwise, and fail when CI is set), the CRIU 4.2 fixture, and small builders
 * of namespaces as plain data.
 */
import { test, type TestContext } from 'node:test';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostSupport } from '../../src/host/index.js';
import type { HostDesc, HostIpcNs } from '../../src/host/index.js';

const support = hostSupport();
/** Why host tests cannot run here, or false. */
export const HOST_SKIP: string | false = support.ok ? false : support.reason;

/** A test that needs the real kernel: skipped with the reason where impossible, failed under CI. */
export function hostTest(name: string, fn: (t: TestContext) => Promise<void> | void, opts: { timeout?: number } = {}): void {
  if (HOST_SKIP && process.env.CI) {
    test(name, () => {
      throw new Error(`the host backend cannot run under CI: ${HOST_SKIP}`);
    });
    return;
  }
  test(name, { skip: HOST_SKIP, timeout: opts.timeout ?? 120_000 }, fn);
}

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** The IPC images of the real CRIU 4.2 dump (copied from ../shared/criu-images/criu-4.2-ipcns-22-tasks). */
export const CRIU_DIR = join(REPO_ROOT, 'test', 'fixtures', 'host', 'criu-4.2-ipcns');

export function readDir(dir: string): Map<string, Uint8Array> {
  return new Map(readdirSync(dir).filter((n) => n.endsWith('.img') || n === 'nsd-manifest.json').map((n) => [n, new Uint8Array(readFileSync(join(dir, n)))]));
}

export function desc(id: number, over: Partial<HostDesc> = {}): HostDesc {
  return { id, key: 0, uid: 0, gid: 0, cuid: 0, cgid: 0, mode: 0o600, ...over };
}

export function emptyNs(over: Partial<HostIpcNs> = {}): HostIpcNs {
  return { sysctls: {}, msg: [], sem: [], shm: [], tasks: [], source: 'model', notes: [], ...over };
}

export const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7 + 1) & 0xff);
