/**
 * The host backend shares only the images with the model: nothing in src/host imports the model
 * kernel or its syscalls (directly or through what it imports from src/cr).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { REPO_ROOT } from './helpers.js';

function imports(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/from '(\.[^']+)'/g)].map((m) => resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts')));
}

test('src/host reaches no module of src/kernel or src/syscalls', () => {
  const src = join(REPO_ROOT, 'src');
  const seen = new Set<string>();
  const todo = readdirSync(join(src, 'host')).filter((f) => f.endsWith('.ts')).map((f) => join(src, 'host', f));
  while (todo.length > 0) {
    const f = todo.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    todo.push(...imports(f));
  }
  const bad = [...seen].filter((f) => f.startsWith(join(src, 'kernel')) || f.startsWith(join(src, 'syscalls')));
  assert.deepEqual(bad, []);
  assert.ok([...seen].some((f) => f.includes(join('cr', 'image'))), 'it does use the image codecs');
});
