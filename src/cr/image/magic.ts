/**
 * Design note: image magics, values from checkpoint-restore/criu
 * criu/include/magic.h. Since image version 2 (CRTOOLS_IMAGES_V1_1) every
 * image starts with IMG_COMMON_MAGIC and then its own magic — except
 * inventory.img, which starts directly with INVENTORY_MAGIC, and raw images
 * (RAW_IMAGE_MAGIC = 0: pages-*.img, tarballs, ip dumps) that have no magic at
 * all (criu/image.c img_check_magic/img_write_magic). Service files (stats,
 * irmap-cache) use IMG_SERVICE_MAGIC instead of the common one.
 */

/** Head of every CRIU image but inventory and raw ones ("Sarov"). */
export const IMG_COMMON_MAGIC = 0x54564319;
/** Head of CRIU service files: stats-*, irmap-cache ("Zlatoust"). */
export const IMG_SERVICE_MAGIC = 0x55105940;
/** Head of this project's own images; not a CRIU value ("NSD" + 0x19). */
export const NSD_HEAD_MAGIC = 0x1944534e;

/** CRIU inventory.img image version with common magics (CRTOOLS_IMAGES_V1_1). */
export const CRTOOLS_IMAGES_V1_1 = 2;

/** Per-image magics (criu/include/magic.h), by CRIU's name. */
export const CRIU_MAGICS = {
  INVENTORY: 0x58313116,
  PSTREE: 0x50273030,
  FDINFO: 0x56213732,
  PAGEMAP: 0x56084025,
  CORE: 0x55053847,
  IDS: 0x54432030,
  VMAS: 0x54123737,
  PIPES: 0x56513555,
  PIPES_DATA: 0x56453709,
  FIFO: 0x58364939,
  FIFO_DATA: 0x59333054,
  SIGACT: 0x55344201,
  UNIXSK: 0x54373943,
  INETSK: 0x56443851,
  UTSNS: 0x54473203,
  CREDS: 0x54023547,
  IPC_VAR: 0x53115007,
  IPCNS_SHM: 0x46283044,
  IPCNS_MSG: 0x55453737,
  IPCNS_SEM: 0x59573019,
  REG_FILES: 0x50363636,
  FS: 0x51403912,
  MM: 0x57492820,
  NS_FILES: 0x61394011,
  USERNS: 0x55474906,
  FILES: 0x56303138,
  STATS: 0x57093306,
  IRMAP_CACHE: 0x57004059,
} as const;

/** The nsd-extra image magic, after NSD_HEAD_MAGIC. */
export const NSD_EXTRA_MAGIC = 0x4e534401;
