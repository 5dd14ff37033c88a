/**
 * Design note: this project's own image kind, for state CRIU's images do not
 * hold (object times, sempid, SEM_UNDO adjustments, blocked syscalls...).
 * Unlike CRIU images it is versioned and checksummed: a head entry carries the
 * format version, the entry count and a SHA-256 over the framed entries that
 * follow it. The file starts with NSD_HEAD_MAGIC instead of CRIU's common
 * magic so no CRIU tool mistakes it for one of its own.
 */
export const NSD_PROTO = `
syntax = "proto2";

message nsd_extra_head {
  required uint32 format_version = 1;
  required uint32 entry_count    = 2;
  required bytes  sha256         = 3;
  optional string producer       = 4;
}

// One datum: a section ("ipc/sem", "task"...), a key within it, and a value
// as JSON text (plain data) and/or raw bytes.
message nsd_extra_entry {
  required string section = 1;
  required string key     = 2;
  optional string json    = 3;
  optional bytes  blob    = 4;
}
`;
