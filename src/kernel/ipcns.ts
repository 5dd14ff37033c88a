/**
 * IPC namespaces as the core sees them: creation (CLONE_NEWIPC, unshare), reference counting by
 * tasks, and release. Their contents (queues, sets, segments, limits) belong to src/kernel/ipc,
 * which creates them with the profile's limits and frees them through the Subsystem hook.
 */
import type { KernelCore } from './core.js';
import type { IpcNsState } from './state.js';
import { SUBSYSTEMS } from './subsystem.js';
import { newIpcNamespace } from './ipc/util.js';

export function newIpcNs(k: KernelCore): IpcNsState {
  const ns = newIpcNamespace(k, k.newId());
  k.s.ipcns.set(ns.id, ns);
  return ns;
}

export function getIpcNs(k: KernelCore, id: number): void {
  k.ipcNs(id).refs++;
}

export function putIpcNs(k: KernelCore, id: number): void {
  const ns = k.ipcNs(id);
  if (--ns.refs > 0 || id === k.s.rootIpcNs) return;
  for (const sub of SUBSYSTEMS) sub.freeIpcNs?.(k, ns);
  k.s.ipcns.delete(id);
}
