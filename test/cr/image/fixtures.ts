/**
 * Design note: locates the shared CRIU 4.2 dump (../shared/criu-images/...
 * from the repository root) and parses its state-before-dump.txt into plain
 * records. Tests that need the dump skip with a reason when it is missing.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root: this file runs from dist/test/cr/image/. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
export const DUMP_DIR = resolve(REPO_ROOT, '../shared/criu-images/criu-4.2-ipcns-22-tasks');
/** Why dump-based tests skip, or false when the dump is present. */
export const DUMP_SKIP: string | false = existsSync(join(DUMP_DIR, 'state-before-dump.txt'))
  ? false
  : `shared CRIU dump not found at ${DUMP_DIR}`;

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
