/**
 * Design note: hard ceilings applied while reading, so a hostile image can
 * neither make us allocate much nor loop long. Every count read from a file
 * is checked against one of these AND against the bytes actually left,
 * before anything is allocated for it. The values are generous next to
 * Linux's own limits (cited per constant).
 */

/** Largest single protobuf entry (CRIU's biggest, core-*.img, is a few KiB). */
export const MAX_ENTRY_BYTES = 16 << 20;
/** Most entries in one image file. */
export const MAX_ENTRIES = 1 << 20;
/** Most messages in one queue: msg_qnum is bounded by msgmnb bytes (INT_MAX). */
export const MAX_QUEUE_MESSAGES = 1 << 20;
/** Largest message body: kernel/msgmax is an int, CRIU restores up to MSGMAX; 4 MiB is plenty. */
export const MAX_MESSAGE_BYTES = 4 << 20;
/** Most semaphores in a set: SEMMSL is capped at 32000 by ipc/sem.c (SEMMSL_FAST aside). */
export const MAX_SEMS = 65535;
/** Page size CRIU uses for pagemaps on x86_64. */
export const PAGE_SIZE = 4096;
/** Largest shm segment we will materialise from pagemap + pages (1 GiB). */
export const MAX_SHM_BYTES = 1 << 30;
