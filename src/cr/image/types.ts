/**
 * Design note: typed views of the entries the c/r engine reads most. They
 * mirror the protobuf messages field for field (CRIU's snake_case names);
 * 64-bit fields are bigint; optional fields are optional. Decoding yields
 * exactly these shapes (see convert.ts); `EntryOf` maps an image kind to its
 * entry type.
 */
import type { Entry } from './convert.js';
import type { IpcPermDs } from '../../abi/ipc.js';
import type { ImageKindName } from './kinds.js';

/**
 * criu images/ipc-desc.proto: Linux's ipc64_perm (src/abi/ipc.ts) with the full id in place of seq;
 * `key` is the uint32 on the wire (IPC_STAT's C int read unsigned).
 */
export interface IpcDescEntry extends Omit<IpcPermDs, 'seq'> {
  id: number;
}

/** criu images/ipc-msg.proto */
export interface IpcMsgEntry {
  desc: IpcDescEntry;
  qbytes: number;
  qnum: number;
}

/** criu images/ipc-sem.proto */
export interface IpcSemEntry {
  desc: IpcDescEntry;
  nsems: number;
}

/** criu images/ipc-shm.proto */
export interface IpcShmEntry {
  desc: IpcDescEntry;
  size: bigint;
  in_pagemaps?: boolean;
}

/** criu images/ipc-var.proto */
export interface IpcVarEntry {
  sem_ctls?: number[];
  msg_ctlmax: number;
  msg_ctlmnb: number;
  msg_ctlmni: number;
  auto_msgmni: number;
  shm_ctlmax: bigint;
  shm_ctlall: bigint;
  shm_ctlmni: number;
  shm_rmid_forced: number;
  mq_queues_max: number;
  mq_msg_max: number;
  mq_msgsize_max: number;
  mq_msg_default?: number;
  mq_msgsize_default?: number;
  msg_next_id?: number;
  sem_next_id?: number;
  shm_next_id?: number;
}

/** criu images/pstree.proto */
export interface PstreeEntry {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  threads?: number[];
}

/** criu images/core.proto task_kobj_ids_entry */
export interface TaskKobjIdsEntry {
  vm_id: number;
  files_id: number;
  fs_id: number;
  sighand_id: number;
  pid_ns_id?: number;
  net_ns_id?: number;
  ipc_ns_id?: number;
  uts_ns_id?: number;
  mnt_ns_id?: number;
  user_ns_id?: number;
  cgroup_ns_id?: number;
  time_ns_id?: number;
}

/** criu images/inventory.proto */
export interface InventoryEntry {
  img_version: number;
  fdinfo_per_id?: boolean;
  root_ids?: TaskKobjIdsEntry;
  ns_per_id?: boolean;
  root_cg_set?: number;
  lsmtype?: number;
  dump_uptime?: bigint;
  pre_dump_mode?: number;
  tcp_close?: boolean;
  network_lock_method?: number;
  plugins_entry?: { plugins?: string[] };
  dump_criu_run_id?: string;
}

/** criu images/pagemap.proto */
export interface PagemapHead {
  pages_id: number;
}

/** criu images/pagemap.proto */
export interface PagemapEntry {
  vaddr: bigint;
  compat_nr_pages: number;
  in_parent?: boolean;
  flags?: number;
  nr_pages?: bigint;
}

/** nsd-extra head (schema/nsd.ts) */
export interface NsdExtraHead {
  format_version: number;
  entry_count: number;
  sha256: Uint8Array;
  producer?: string;
}

/** nsd-extra datum (schema/nsd.ts) */
export interface NsdExtraEntry {
  section: string;
  key: string;
  json?: string;
  blob?: Uint8Array;
}

/**
 * The decoded entry type of every image kind (`readImage<K>` returns `CriuImage<K>`). Kinds the
 * engine does not read field by field decode to a plain `Entry` (convert.ts). A kind whose first
 * entry is another message (pagemaps: pagemap_head; nsd-extra: nsd_extra_head) is in `FirstEntryTypes`.
 */
export interface EntryTypes {
  inventory: InventoryEntry;
  pstree: PstreeEntry;
  ids: TaskKobjIdsEntry;
  'ipcns-var': IpcVarEntry;
  'ipcns-msg': IpcMsgEntry;
  'ipcns-sem': IpcSemEntry;
  'ipcns-shm': IpcShmEntry;
  'pagemap-shmem': PagemapEntry;
  pagemap: PagemapEntry;
  'ns-files': Entry;
  creds: Entry;
  fs: Entry;
  pipes: Entry;
  'pipes-data': Entry;
  'nsd-extra': NsdExtraEntry;
}

/** The first entry of the kinds whose spec has a `firstType` (kinds.ts); readImage refuses them without it. */
export interface FirstEntryTypes {
  'pagemap-shmem': PagemapHead;
  pagemap: PagemapHead;
  'nsd-extra': NsdExtraHead;
}

/** The type of every entry of kind `K` but a distinct first one. */
export type EntryOf<K extends ImageKindName> = EntryTypes[K];

/** The entries of a decoded image of kind `K`: `[head, ...entries]` where the first entry differs. */
export type EntriesOf<K extends ImageKindName> = K extends keyof FirstEntryTypes ? [FirstEntryTypes[K], ...EntryTypes[K][]] : EntryTypes[K][];

/** One queued System V message (criu/ipc_ns.c dump_ipc_msg_queue_messages). */
export interface IpcMessage {
  mtype: bigint;
  msize: number;
  body: Uint8Array;
}

/** Raw data that follows an entry. */
export type Payload =
  | { kind: 'ipc-msg'; messages: IpcMessage[] }
  | { kind: 'ipc-sem'; values: number[] }
  | { kind: 'ipc-shm-legacy'; data: Uint8Array }
  | { kind: 'pipe-data'; data: Uint8Array };

/** A decoded image. `payloads[i]` belongs to `entries[i]` (null: none). */
export interface CriuImage<K extends ImageKindName = ImageKindName> {
  kind: K;
  entries: EntriesOf<K>;
  payloads?: (Payload | null)[];
}
