/** The syscall table: one declaration per syscall, no registration by import, typed calls. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel } from '../../src/syscalls/scheduler.js';
import { SYSCALLS, TABLE, supportIn, untypedCall, type SyscallCall } from '../../src/syscalls/table.js';
import type { StepOutcome } from '../../src/syscalls/program.js';
import { expectErrno } from '../helpers.js';


test('every table entry is dispatched and is a task.sys method; the dispatcher knows nothing else', () => {
  const k = new Kernel();
  const names = Object.keys(TABLE);
  assert.ok(names.length > 100);
  assert.deepEqual([...SYSCALLS.keys()].sort(), [...names].sort());
  for (const n of names) assert.equal(typeof (k.init.sys as unknown as Record<string, unknown>)[n], 'function', n);
});

test('with-id, process_vm, IPC and nsd_cr exist without importing the c/r engine or the IPC modules', () => {
  // This file imports only the kernel and the table: nothing registers these by being loaded.
  for (const n of ['clone_with_id', 'fork_with_id', 'open_with_id', 'msgget_with_id', 'ipc_set_all', 'process_vm_readv', 'process_vm_writev', 'msgsnd', 'semtimedop', 'shmctl', 'nsd_cr']) {
    assert.ok(SYSCALLS.has(n), n);
  }
  const k = new Kernel();
  const sys = k.init.sys;
  const addr = sys.mmap(0, 4096, 3, 0x22);
  assert.equal(sys.process_vm_writev(0, addr, new Uint8Array([7, 8])), 2);
  assert.deepEqual([...sys.process_vm_readv(0, addr, 2)], [7, 8]);
  assert.ok(sys.msgget_with_id(5, 0, 0o1600) >= 0);
});

test('nsd_cr: ENOSYS on a kernel without an engine; the engine is given per kernel, not by loading it', async () => {
  const k = new Kernel();
  expectErrno(() => k.init.sys.nsd_cr('check'), 'ENOSYS');
  const { installCrEngine } = await import('../../src/cr/syscall.js');
  // Loading the engine gives it to no kernel.
  expectErrno(() => k.init.sys.nsd_cr('check'), 'ENOSYS');
  installCrEngine(k);
  assert.equal(k.init.sys.nsd_cr('check').profile, 'linux-6');
  // A kernel made from its state is another kernel: code is not state.
  expectErrno(() => Kernel.fromState(k.snapshot(), { programs: k.programs.values() }).init.sys.nsd_cr('check'), 'ENOSYS');
  expectErrno(() => new Kernel().init.sys.nsd_cr('check'), 'ENOSYS');
});

test('a call the support notes mark unsupported in a profile is ENOSYS there', () => {
  for (const profile of ['linux-6', 'linux-2.6.26'] as const) {
    const k = new Kernel({ profile });
    const sys = k.init.sys;
    assert.equal(supportIn(TABLE.clone3, profile).level === 'none', profile === 'linux-2.6.26');
    assert.equal(supportIn(TABLE.setns, profile).level === 'none', profile === 'linux-2.6.26');
    if (profile === 'linux-2.6.26') {
      expectErrno(() => sys.call('clone3', {}), 'ENOSYS');
      expectErrno(() => sys.setns(0, 0), 'ENOSYS');
    }
  }
});

test('program calls are checked against the table at compile time', () => {
  const ok: SyscallCall = { call: 'msgsnd', args: [1, 1, 'x', 0] };
  // @ts-expect-error msgsnd's first argument is a number
  const bad: StepOutcome = { call: 'msgsnd', args: ['q', 1, 'x', 0] };
  // @ts-expect-error there is no syscall 'mgsnd'
  const typo: StepOutcome = { call: 'mgsnd', args: [] };
  // A name that is data goes through untypedCall and is checked when it runs.
  assert.deepEqual(untypedCall('getpid', []), { call: 'getpid', args: [] });
  assert.ok(ok && bad && typo);
  // And task.sys's methods have the handlers' types (a string where a number goes is a compile error).
  const k = new Kernel();
  // @ts-expect-error getpgid takes a number
  expectErrno(() => k.init.sys.getpgid('x'), 'EINVAL');
});
