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
import { syscallArg as arg } from './arbitraries.js';

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

test('a string argument that is not a string is EFAULT before the handler (ipc_set_all kind, open path, execve argv)', () => {
  const k = new Kernel();
  const child = k.task(k.init.sys.fork())!;
  for (const [name, args] of [
    ['ipc_set_all', [{ flags: 1 }, 15, {}]],
    ['ipc_set_all', [Object.create(null), 0, {}]],
    ['open', [5, 0]],
    ['mkdir', [['x']]],
    ['execve', ['/bin/sh', 'not an array']],
    ['execve', ['/bin/sh', [1, 2]]],
  ] as Array<[string, unknown[]]>) {
    try {
      child.sys.call(name, ...args);
      assert.fail(`${name} succeeded`);
    } catch (e) {
      assert.ok(e instanceof ErrnoError, `${name}: ${(e as Error)?.stack}`);
      assert.equal(e.code, 'EFAULT', name);
    }
  }
});
