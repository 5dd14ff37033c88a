/**
 * The README's library examples run as written: each ```ts block is transpiled and executed as a
 * module inside the package (so `import … from 'next-syscall-data'` resolves to this package), with a
 * few checks appended.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import ts from 'typescript';

const root = process.cwd();
const blocks = [...readFileSync(join(root, 'README.md'), 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);

/** Checks appended to each block, by its position in the README. */
const CHECKS = [
  `if (pid !== 4242 || kernel.task(4242)?.pid !== 4242) throw new Error('expected pid 4242, got ' + pid);
   if (!(new ErrnoError('EBUSY') instanceof Error)) throw new Error('ErrnoError');`,
  `const out = k.init.sys.open('/tmp/out', C.O_RDONLY);
   const text = new TextDecoder().decode(k.init.sys.read(out, 100));
   if (text !== 'hello through a pipe\\n') throw new Error('unexpected output ' + JSON.stringify(text));`,
  `if (new TextDecoder().decode(mtext) !== 'hello' || back.sys.getpid() !== 1) throw new Error('restore');
   if (back.sleepingIn?.syscall !== 'nanosleep' || back.pid !== r.rootPid) throw new Error('the restored init is not asleep');`,
];

test('README examples run as written', () => {
  assert.ok(blocks.length >= 3, 'the README has its examples');
  const dir = join(root, 'dist', 'readme-examples');
  mkdirSync(dir, { recursive: true });
  blocks.forEach((code, i) => {
    const js = ts.transpileModule(`${code}\n${CHECKS[i] ?? ''}\n`, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    const file = join(dir, `example-${i}.mjs`);
    writeFileSync(file, js);
    const r = spawnSync(process.execPath, [file], { encoding: 'utf8' });
    assert.equal(r.status, 0, `README example ${i + 1} failed:\n${r.stderr}`);
  });
});
