/**
 * IPC_SET with an invalid uid/gid (-1): EINVAL on modern kernels (uid_valid(), 3.5+); 2.6.26's
 * ipc_update_perm() stored the value as given.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel, constants as C } from '../../../src/index.js';
import { expectErrno } from '../../helpers.js';

test('IPC_SET uid/gid -1: EINVAL on linux-6, stored on linux-2.6.26', () => {
  const modern = new Kernel({ profile: 'linux-6' }).init;
  const q6 = modern.sys.msgget(C.IPC_PRIVATE, C.IPC_CREAT | 0o600);
  expectErrno(() => modern.sys.msgctl(q6, C.IPC_SET, { msg_perm: { uid: -1, gid: 0, mode: 0o600 } }), 'EINVAL');
  const old = new Kernel({ profile: 'linux-2.6.26' }).init;
  const q2 = old.sys.msgget(C.IPC_PRIVATE, C.IPC_CREAT | 0o600);
  old.sys.msgctl(q2, C.IPC_SET, { msg_perm: { uid: -1, gid: 0, mode: 0o600 } });
  const ds = old.sys.msgctl(q2, C.IPC_STAT) as { msg_perm: { uid: number } };
  assert.equal(ds.msg_perm.uid, 0xffffffff);
});
