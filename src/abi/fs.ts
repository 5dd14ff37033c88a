/** The records of the file syscalls (include/uapi/asm-generic/stat.h, linux/dirent.h), as plain data. */

/** struct stat as stat(2)/fstat(2) fill it (the fields the model keeps; times in whole seconds). */
export interface Stat {
  st_dev: number;
  st_ino: number;
  st_mode: number;
  st_nlink: number;
  st_uid: number;
  st_gid: number;
  st_rdev: number;
  st_size: number;
  st_blksize: number;
  st_blocks: number;
  st_mtime: number;
  st_ctime: number;
}

/** One linux_dirent64 record of getdents64(2) (d_reclen is implied by the name). */
export interface Dirent {
  d_ino: number;
  d_off: number;
  d_type: number;
  d_name: string;
}
