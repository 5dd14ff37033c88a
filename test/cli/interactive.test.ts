/**
 * The interactive shell driven through tmux (send-keys, capture-pane), as a user would: start
 * `nsd sh`, run a background producer/consumer pair, `ps`, `kill`, Ctrl-C a foreground job, exit.
 * Skipped (with the reason) when tmux is not installed; CI installs it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const SESSION = `nsd-test-${process.pid}`;
const SOCKET = `nsd-test-${process.pid}`;

function tmux(...args: string[]): string {
  const r = spawnSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
  return r.stdout;
}

function screen(): string {
  return tmux('capture-pane', '-p', '-t', SESSION, '-S', '-200');
}

/**
 * Waits until the pane matches `re` (polling), returning the pane text. With `after`, only the
 * text after the last occurrence of `after` counts (and is returned): the output of the command
 * just typed, never an earlier command's output still on the screen.
 */
async function waitFor(re: RegExp, ms = 10000, after?: string): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    let s = screen();
    if (after !== undefined) {
      const at = s.lastIndexOf(after);
      s = at < 0 ? '' : s.slice(at + after.length);
    }
    if (re.test(s)) return s;
    if (Date.now() > end) throw new Error(`timed out waiting for ${re}; screen:\n${s}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Types `line` and Enter; waits for `then` in the output that follows the echoed line. */
async function type(line: string, then: RegExp): Promise<string> {
  tmux('send-keys', '-t', SESSION, '-l', line);
  tmux('send-keys', '-t', SESSION, 'Enter');
  return waitFor(then, 10000, `# ${line}\n`);
}

describe('interactive nsd sh (tmux)', { skip: hasTmux ? false : 'tmux is not installed' }, () => {
  it('runs a background producer/consumer pair, ps, kill, Ctrl-C, exit', async () => {
    const cli = resolve('dist/src/cli/main.js');
    tmux('new-session', '-d', '-s', SESSION, '-x', '150', '-y', '50', `${process.execPath} ${cli} sh; echo "[nsd exited $?]"; sleep 30`);
    try {
      await waitFor(/^#$/m);
      await type('echo hello $((6*7))', /^hello 42$/m);
      await type('mq-producer 0x1234 0 1 > /tmp/p.log &', /^\[1\] \d+$/m);
      await type('mq-consumer 0x1234 0 > /tmp/c.log &', /^\[2\] \d+$/m);
      let s = await type('ps', /mq-consumer 0x1234 0\n.*ps\n/);
      assert.match(s, /^\s+\d+\s+\d+ S\s+mq-producer 0x1234 0 1$/m);
      assert.match(s, /^\s+\d+\s+\d+ S\s+mq-consumer 0x1234 0$/m);
      // Real time passes for sleepers in an interactive session: messages flow (the shell polls
      // the log in the model; the test waits for the screen, bounded by waitFor's timeout).
      await type('until grep -q "message 1" /tmp/c.log; do sleep 1; done; echo flowing', /^flowing$/m);
      s = await type('cat /tmp/c.log', /^received: message 1$/m);
      await type('kill %1 %2; wait; echo killed $?', /^killed \d+$/m);
      s = await type('ps -o pid,stat,comm', /COMMAND[\s\S]*ps\n/);
      assert.doesNotMatch(s, /mq-/);
      // Ctrl-C interrupts the foreground job, not the shell.
      // `started` is printed in the same scheduler slice that forks `sleep`: once it is on the
      // screen, sleep is the foreground job.
      await type('echo started; sleep 100', /^started$/m);
      tmux('send-keys', '-t', SESSION, 'C-c');
      await type('echo status $?', /^status 130$/m);
      await type('exit 5', /\[nsd exited 5\]/);
    } finally {
      tmux('kill-server');
    }
  });
});
