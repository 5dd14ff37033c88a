/**
 * The real-kernel backend: checkpoint and restore a host IPC namespace through the C agent, with
 * the same CRIU-format images the model writes (docs/host-backend.md).
 */
export { Agent, agentBinary, errnoName, HostError, hostSupport } from './agent.js';
export { compareNs, CRIU_MISSING, formatReport, LOST_FIELDS, wrongLines, type HostReportLine } from './compare.js';
export { dumpHost, dumpWith, parseDump, UNDO_UNREADABLE } from './dump.js';
export { loadRestoreImages, readRestoreDir, type PagesFiles } from './files.js';
export { fromImages, toImages } from './images.js';
export { planner, restoreHost, restoreImages, restorePlan, runPlan, type HostRestoreOptions, type HostRestoreResult, type Planner } from './restore.js';
export type * from './state.js';
