/**
 * Bad input: every syscall in the table, called with arbitrary arguments, either succeeds or fails
 * with an ErrnoError (or reports WouldBlockError). Anything else — a TypeError, a KernelBug, a
 * RangeError from a huge allocation — is a bug in the model.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ErrnoError, Kernel, WouldBlockError } from '../../src/index.js';
import { SYSCALLS } from '../../src/syscalls/table.js';

const arg = fc.oneof(
  fc.integer({ min: -3, max: 70 }),
  fc.constantFrom(-1, 0, 1, 2, 0x7fffffff, -0x80000000, 2 ** 40, 1e300, NaN, 0.5, -100),
  fc.constantFrom('/', '/proc/self/task/1/next_syscall_data', '/tmp', '/dev/null', '', 'x', '/proc/1/status', '../..'),
  fc.string({ maxLength: 12 }),
  fc.constantFrom(undefined, null, true, {}, [], [1, 2], ['a'], new Uint8Array(3), 5n, -1n),
  fc.record({ flags: fc.integer({ min: 0, max: 0x7fffffff }), exit_signal: fc.integer({ min: -1, max: 70 }) }),
);

test('property: every syscall, arbitrary arguments → success, ErrnoError or WouldBlockError', () => {
  const names = [...SYSCALLS.keys()].sort();
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.constantFrom(...names), fc.array(arg, { maxLength: 5 })), { minLength: 1, maxLength: 8 }), (calls) => {
      const k = new Kernel();
      // Calls come from a child so that exit/execve/kill cannot take init away.
      const child = k.task(k.init.sys.fork())!;
      for (const [name, args] of calls) {
        if (!child.alive) break;
        try {
          child.sys.call(name, ...args);
        } catch (e) {
          if (e instanceof ErrnoError || e instanceof WouldBlockError) continue;
          assert.fail(`${name}(${args.map((a) => (typeof a === 'bigint' ? `${a}n` : JSON.stringify(a))).join(', ')}) threw ${(e as Error)?.stack ?? e}`);
        }
      }
    }),
    { seed: 4242, numRuns: 1500 },
  );
});
