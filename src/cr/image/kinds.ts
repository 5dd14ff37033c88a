/**
 * Design note: the table of image kinds this layer reads and writes. Each
 * kind names its file pattern, its head (CRIU common magic, none for
 * inventory, or this project's head), its own magic, the protobuf message of
 * its entries (and of a different first entry, for pagemaps) and which extra
 * payload, if any, follows each entry. Everything else in the folder is
 * driven by this table; adding a CRIU image kind is one row here.
 */
import { CRIU_MAGICS, IMG_COMMON_MAGIC, NSD_EXTRA_MAGIC, NSD_HEAD_MAGIC } from './magic.js';

/** What raw bytes follow each entry (criu/ipc_ns.c, criu/pipes.c). */
export type PayloadKind = 'none' | 'ipc-msg' | 'ipc-sem' | 'ipc-shm-legacy' | 'pipe-data';

/** One image kind's framing. */
export interface ImageKindSpec {
  /** Our name for the kind, also the stem of its file name. */
  readonly name: ImageKindName;
  /** CRIU's name for the magic, as crit prints it under "magic". */
  readonly magicName: string;
  /** The u32 before the per-image magic, or null when there is none. */
  readonly head: number | null;
  /** The per-image magic. */
  readonly magic: number;
  /** The message of every entry (but the first when `firstType` is set). */
  readonly entryType: string;
  /** The message of the first entry, if it differs. */
  readonly firstType?: string;
  /** Raw bytes that follow each entry. */
  readonly payload: PayloadKind;
  /** File-name pattern (CRIU's criu/image-desc.c imgset_template). */
  readonly file: RegExp;
}

export type ImageKindName =
  | 'inventory'
  | 'pstree'
  | 'ids'
  | 'ipcns-var'
  | 'ipcns-msg'
  | 'ipcns-sem'
  | 'ipcns-shm'
  | 'pagemap-shmem'
  | 'pagemap'
  | 'ns-files'
  | 'creds'
  | 'fs'
  | 'pipes'
  | 'pipes-data'
  | 'nsd-extra';

function kind(
  name: ImageKindName,
  magicName: string,
  entryType: string,
  file: RegExp,
  extra: Partial<Pick<ImageKindSpec, 'head' | 'magic' | 'firstType' | 'payload'>> = {},
): ImageKindSpec {
  const magic = extra.magic ?? CRIU_MAGICS[magicName as keyof typeof CRIU_MAGICS];
  return {
    name,
    magicName,
    head: extra.head === undefined ? IMG_COMMON_MAGIC : extra.head,
    magic,
    entryType,
    payload: extra.payload ?? 'none',
    file,
    ...(extra.firstType === undefined ? {} : { firstType: extra.firstType }),
  };
}

/** Every kind, by name. */
export const IMAGE_KINDS: Readonly<Record<ImageKindName, ImageKindSpec>> = {
  inventory: kind('inventory', 'INVENTORY', 'inventory_entry', /^inventory\.img$/, { head: null }),
  pstree: kind('pstree', 'PSTREE', 'pstree_entry', /^pstree\.img$/),
  ids: kind('ids', 'IDS', 'task_kobj_ids_entry', /^ids-\d+\.img$/),
  'ipcns-var': kind('ipcns-var', 'IPC_VAR', 'ipc_var_entry', /^ipcns-var-\d+\.img$/),
  'ipcns-msg': kind('ipcns-msg', 'IPCNS_MSG', 'ipc_msg_entry', /^ipcns-msg-\d+\.img$/, { payload: 'ipc-msg' }),
  'ipcns-sem': kind('ipcns-sem', 'IPCNS_SEM', 'ipc_sem_entry', /^ipcns-sem-\d+\.img$/, { payload: 'ipc-sem' }),
  'ipcns-shm': kind('ipcns-shm', 'IPCNS_SHM', 'ipc_shm_entry', /^ipcns-shm-\d+\.img$/, {
    payload: 'ipc-shm-legacy',
  }),
  'pagemap-shmem': kind('pagemap-shmem', 'PAGEMAP', 'pagemap_entry', /^pagemap-shmem-\d+\.img$/, {
    firstType: 'pagemap_head',
  }),
  pagemap: kind('pagemap', 'PAGEMAP', 'pagemap_entry', /^pagemap-\d+\.img$/, { firstType: 'pagemap_head' }),
  'ns-files': kind('ns-files', 'NS_FILES', 'ns_file_entry', /^ns-files\.img$/),
  creds: kind('creds', 'CREDS', 'creds_entry', /^creds-\d+\.img$/),
  fs: kind('fs', 'FS', 'fs_entry', /^fs-\d+\.img$/),
  pipes: kind('pipes', 'PIPES', 'pipe_entry', /^pipes\.img$/),
  'pipes-data': kind('pipes-data', 'PIPES_DATA', 'pipe_data_entry', /^pipes-data\.img$/, { payload: 'pipe-data' }),
  'nsd-extra': kind('nsd-extra', 'NSD_EXTRA', 'nsd_extra_entry', /^nsd-extra(-\d+)?\.img$/, {
    head: NSD_HEAD_MAGIC,
    magic: NSD_EXTRA_MAGIC,
    firstType: 'nsd_extra_head',
  }),
};

/** The kinds in table order. */
export const IMAGE_KIND_LIST: readonly ImageKindSpec[] = Object.values(IMAGE_KINDS);

/** The kind whose file pattern matches a base name, if any. */
export function findKindByFileName(baseName: string): ImageKindSpec | undefined {
  return IMAGE_KIND_LIST.find((k) => k.file.test(baseName));
}
