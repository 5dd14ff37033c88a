/**
 * Checkpoint/restart: `dump` a process tree to CRIU-format images, `restore` it with one of three
 * strategies (next_syscall_data, with-id syscalls, mainline Linux), inspect images.
 */
export { dump, DUMP_STEPS, type DumpOptions, type DumpResult } from './dump.js';
export { restore, readCheckpoint, type RestoreOptions, type RestoreResult } from './restore.js';
export { STRATEGIES, getStrategy, type StrategyName } from './strategy.js';
export { CrError } from './errors.js';
export type { Checkpoint, CrReportLine } from './model.js';
export { readIpcImages } from './ipc-checkpoint.js';
export { restoreIpcOnly, CRIU_MISSING_FIELDS } from './ipc-only.js';
export { MANIFEST, verifyManifest, writeManifest } from './manifest.js';
