/**
 * Design note: the public face of the image layer. The c/r engine reads and
 * writes CRIU images through `readImage`/`writeImage` (typed by kind), shm
 * contents through `readShmemContents`/`writeShmemContents`, this project's
 * extra state through `readNsdExtra`/`writeNsdExtra`, and shows any image
 * with `showImage`. Every refusal is an `ImageError`.
 */
export { isZero } from './bytes.js';
export { ImageError, wrapDecode } from './errors.js';
export { detectImageKind, encodeImage, readImage, writeImage, type ReadOptions } from './image.js';
export { IMAGE_KINDS, IMAGE_KIND_LIST, type ImageKindName, type ImageKindSpec } from './kinds.js';
export { CRIU_MAGICS, IMG_COMMON_MAGIC, IMG_SERVICE_MAGIC, NSD_EXTRA_MAGIC, NSD_HEAD_MAGIC } from './magic.js';
export { NSD_EXTRA_VERSION, readNsdExtra, writeNsdExtra } from './nsd-extra.js';
export { writeIpcNsImages, type IpcNsImagesInput } from './ipcns.js';
export {
  PE_LAZY,
  PE_PARENT,
  PE_PRESENT,
  pagemapFlags,
  pagemapPageCount,
  pagemapPagesId,
  readShmemContents,
  shmemRuns,
  writeShmemContents,
  type ShmemRuns,
} from './shmem.js';
export { showBody, showImage, type Json } from './show.js';
export type { Entry, FieldValue } from './convert.js';
export type * from './types.js';
