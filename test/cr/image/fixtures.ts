/**
 * Design note: locates the real CRIU 4.2 dump the tests use (a copy of
 * shared/criu-images/criu-4.2-ipcns-22-tasks kept in test/fixtures/, ~200 KB,
 * so a clone anywhere runs every test) and parses its state-before-dump.txt
 * into plain records. A test that still cannot run skips with a reason, and
 * fails instead when the CI env var is set (`ciSkip`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root: this file runs from dist/test/cr/image/. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
export const DUMP_DIR = resolve(REPO_ROOT, 'test/fixtures/criu-4.2-ipcns-22-tasks');

/**
 * A test's `skip` option: `reason` (skip, saying why) — but under CI (the CI env var set) a
 * missing prerequisite is a failure, so this registers a failing test naming it and the
 * dependent test is skipped behind it.
 */
export function ciSkip(reason: string | false): string | false {
  if (reason && process.env.CI) {
    test(`prerequisite (required under CI): ${reason}`, () => assert.fail(`${reason}; CI is set, so this is a failure, not a skip`));
  }
  return reason;
}

/** Why dump-based tests skip, or false when the dump is present. */
export const DUMP_SKIP: string | false = ciSkip(existsSync(join(DUMP_DIR, 'state-before-dump.txt')) ? false : `CRIU dump fixture not found at ${DUMP_DIR}`);

/** Every .img file name in the dump. */
export function dumpImages(): string[] {
  return readdirSync(DUMP_DIR)
    .filter((f) => f.endsWith('.img'))
    .sort();
}

export function readDump(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(DUMP_DIR, name)));
}

/** One state line: its kind, an optional id/index and its key=value fields. */
export interface StateLine {
  kind: string;
  id: string;
  fields: Record<string, string>;
}

/** state-before-dump.txt as records ("sysctl" lines keep the name in id and value in fields.value). */
export function readState(): StateLine[] {
  const text = readFileSync(join(DUMP_DIR, 'state-before-dump.txt'), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line) => {
      const [kind, ...rest] = line.split(' ');
      if (kind === 'sysctl') {
        const eq = line.indexOf(' = ');
        return { kind, id: line.slice(7, eq), fields: { value: line.slice(eq + 3) } };
      }
      const fields: Record<string, string> = {};
      let id = '';
      for (const part of rest) {
        const i = part.indexOf('=');
        if (i < 0) id = part;
        else fields[part.slice(0, i)] = part.slice(i + 1);
      }
      return { kind: kind!, id, fields };
    });
}

/** A number written as decimal, 0x-hex or 0-octal in the state file. */
export function num(s: string | undefined): number {
  if (s === undefined) throw new Error('missing field');
  if (s.startsWith('0x')) return parseInt(s.slice(2), 16);
  if (s.length > 1 && s.startsWith('0')) return parseInt(s, 8);
  return Number(s);
}
