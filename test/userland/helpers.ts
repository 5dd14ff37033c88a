/** Test helpers: run shell commands in a fresh in-process session. */
import assert from 'node:assert/strict';
import { runShell } from '../../src/cli/session.js';

export { runShell };

export interface Case {
  cmd: string;
  out?: string | RegExp;
  err?: string | RegExp;
  status?: number;
  input?: string;
}

/** Runs a case and checks stdout, stderr (exact, or a pattern) and the status (default 0). */
export function check(c: Case): void {
  const r = runShell(c.cmd, c.input !== undefined ? { input: c.input } : {});
  const where = `sh -c ${JSON.stringify(c.cmd)}`;
  if (c.out instanceof RegExp) assert.match(r.stdout, c.out, `${where}: stdout (stderr: ${r.stderr})`);
  else if (c.out !== undefined) assert.equal(r.stdout, c.out, `${where}: stdout (stderr: ${r.stderr})`);
  if (c.err instanceof RegExp) assert.match(r.stderr, c.err, `${where}: stderr`);
  else assert.equal(r.stderr, c.err ?? '', `${where}: stderr`);
  assert.equal(r.status, c.status ?? 0, `${where}: status`);
}
