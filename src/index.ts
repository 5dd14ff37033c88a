/**
 * next-syscall-data: a Linux kernel model with the 2008 next_syscall_data interface.
 * Public library surface.
 */
export { ErrnoError, WouldBlockError, KernelBug, Errno, errnoName, strerror } from './abi/errno.js';
export type { ErrnoCode } from './abi/errno.js';
export * as constants from './abi/constants.js';
