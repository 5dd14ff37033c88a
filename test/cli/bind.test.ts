/**
 * `--bind`: the copy-out is a merge against what was read in (issue 9 A10). A file the model did
 * not change is never written back; conflicting changes keep the host's file and are reported.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { copyIn, copyOut, parseBind } from '../../src/cli/bind.js';
import { Session } from '../../src/cli/session.js';

/** Runs `cmds` with DIR bound at /w; `during` runs on the host while the model runs. */
function run(dir: string, cmds: string, during: () => void): string[] {
  const s = new Session({ stdout: () => {}, stderr: () => {} });
  const b = parseBind(`${dir}:/w`);
  copyIn(s.kernel, b);
  s.start(['/bin/sh', '-c', cmds]);
  during();
  assert.equal(s.runToEnd(), 0);
  return copyOut(s.kernel, b, () => {});
}

describe('--bind copy-out', () => {
  it('leaves host files the model did not change, even when the host changed them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsd-bind-'));
    try {
      writeFileSync(join(dir, 'out.txt'), '');
      writeFileSync(join(dir, 'keep'), 'k');
      mkdirSync(join(dir, 'sub'));
      const warnings = run(dir, 'echo new > /w/made; echo changed > /w/keep; cat /w/out.txt', () => writeFileSync(join(dir, 'out.txt'), 'hi\n'));
      assert.deepEqual(warnings, []);
      assert.equal(readFileSync(join(dir, 'out.txt'), 'utf8'), 'hi\n');
      assert.equal(readFileSync(join(dir, 'keep'), 'utf8'), 'changed\n');
      assert.equal(readFileSync(join(dir, 'made'), 'utf8'), 'new\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports and keeps the host file on conflicting changes, removals and creations', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsd-bind-'));
    try {
      writeFileSync(join(dir, 'both'), 'a');
      writeFileSync(join(dir, 'gone'), 'b');
      writeFileSync(join(dir, 'plain'), 'c');
      mkdirSync(join(dir, 'd'));
      const warnings = run(dir, 'echo m > /w/both; rm /w/gone /w/plain; echo m > /w/new; rm -r /w/d', () => {
        writeFileSync(join(dir, 'both'), 'host');
        writeFileSync(join(dir, 'gone'), 'host');
        writeFileSync(join(dir, 'new'), 'host');
        writeFileSync(join(dir, 'd', 'added'), 'host');
      });
      assert.equal(warnings.length, 3);
      assert.match(warnings.join('\n'), /both: changed both in the model and on the host/);
      assert.match(warnings.join('\n'), /gone: removed in the model but changed on the host/);
      assert.match(warnings.join('\n'), /new: created in the model but also on the host/);
      for (const f of ['both', 'gone', 'new']) assert.equal(readFileSync(join(dir, f), 'utf8'), 'host');
      assert.equal(existsSync(join(dir, 'plain')), false);
      assert.equal(readFileSync(join(dir, 'd', 'added'), 'utf8'), 'host');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('nsd sh --bind .:/w -c "echo hi" > out.txt keeps the output', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsd-bind-'));
    try {
      const cli = resolve('dist/src/cli/main.js');
      const r = spawnSync('/bin/sh', ['-c', `"${process.execPath}" "${cli}" sh --bind .:/w -c 'echo hi' > out.txt`], { cwd: dir, encoding: 'utf8', timeout: 20000 });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(readFileSync(join(dir, 'out.txt'), 'utf8'), 'hi\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
