/**
 * SysV IPC ops for the c/r workloads (filled in by the IPC part of the tests when SysV IPC is
 * built): a generator of IPC ops and a prologue that creates the container's objects.
 */
import type fc from 'fast-check';
import type { Op } from './workload.js';

export const IPC_WORKLOAD: { ops: (() => fc.Arbitrary<Op>) | null; prologue: (() => Op[]) | null } = { ops: null, prologue: null };
