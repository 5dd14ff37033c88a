/**
 * Design note: process-tree and per-task messages, CRIU's exact layouts.
 * Sources in checkpoint-restore/criu: images/pstree.proto,
 * images/core.proto (task_kobj_ids_entry, the whole of ids-<pid>.img),
 * images/inventory.proto (v4.x adds plugins_entry = 12 and
 * dump_criu_run_id = 13, see criu/image.c prepare_inventory), images/ns.proto,
 * images/creds.proto, images/fs.proto, images/fown.proto, images/pipe.proto,
 * images/pipe-data.proto.
 */
export const TASK_PROTO = `
syntax = "proto2";

// criu images/pstree.proto (fields 6..9 are reserved by Virtuozzo).
message pstree_entry {
  required uint32 pid     = 1;
  required uint32 ppid    = 2;
  required uint32 pgid    = 3;
  required uint32 sid     = 4;
  repeated uint32 threads = 5;
}

// criu images/core.proto: which shared kernel objects a task uses.
message task_kobj_ids_entry {
  required uint32 vm_id        = 1;
  required uint32 files_id     = 2;
  required uint32 fs_id        = 3;
  required uint32 sighand_id   = 4;
  optional uint32 pid_ns_id    = 5;
  optional uint32 net_ns_id    = 6;
  optional uint32 ipc_ns_id    = 7;
  optional uint32 uts_ns_id    = 8;
  optional uint32 mnt_ns_id    = 9;
  optional uint32 user_ns_id   = 10;
  optional uint32 cgroup_ns_id = 11;
  optional uint32 time_ns_id   = 12;
}

// criu images/inventory.proto
enum lsmtype {
  NO_LSM   = 0;
  SELINUX  = 1;
  APPARMOR = 2;
}

// criu images/inventory.proto: wraps the list so "none" differs from "unset".
message plugins_entry {
  repeated string plugins = 12;
}

// criu images/inventory.proto (field 7 is unused upstream).
message inventory_entry {
  required uint32              img_version         = 1;
  optional bool                fdinfo_per_id       = 2;
  optional task_kobj_ids_entry root_ids            = 3;
  optional bool                ns_per_id           = 4;
  optional uint32              root_cg_set         = 5;
  optional lsmtype             lsmtype             = 6;
  optional uint64              dump_uptime         = 8;
  optional uint32              pre_dump_mode       = 9;
  optional bool                tcp_close           = 10;
  optional uint32              network_lock_method = 11;
  optional plugins_entry       plugins_entry       = 12;
  optional string              dump_criu_run_id    = 13;
}

// criu images/ns.proto: an open /proc/<pid>/ns/* file.
message ns_file_entry {
  required uint32 id       = 1;
  required uint32 ns_id    = 2;
  required uint32 ns_cflag = 3;
  required uint32 flags    = 4;
}

// criu images/creds.proto
message creds_entry {
  required uint32 uid            = 1;
  required uint32 gid            = 2;
  required uint32 euid           = 3;
  required uint32 egid           = 4;
  required uint32 suid           = 5;
  required uint32 sgid           = 6;
  required uint32 fsuid          = 7;
  required uint32 fsgid          = 8;
  repeated uint32 cap_inh        = 9;
  repeated uint32 cap_prm        = 10;
  repeated uint32 cap_eff        = 11;
  repeated uint32 cap_bnd        = 12;
  required uint32 secbits        = 13;
  repeated uint32 groups         = 14;
  optional string lsm_profile    = 15;
  optional string lsm_sockcreate = 16;
  optional bytes  apparmor_data  = 17;
}

// criu images/fs.proto
message fs_entry {
  required uint32 cwd_id  = 1;
  required uint32 root_id = 2;
  optional uint32 umask   = 3;
}

// criu images/fown.proto
message fown_entry {
  required uint32 uid      = 1;
  required uint32 euid     = 2;
  required uint32 signum   = 3;
  required uint32 pid_type = 4;
  required uint32 pid      = 5;
}

// criu images/pipe.proto: one pipe end (an open file).
message pipe_entry {
  required uint32     id      = 1;
  required uint32     pipe_id = 2;
  required uint32     flags   = 3;
  required fown_entry fown    = 4;
}

// criu images/pipe-data.proto: queued pipe bytes; "bytes" raw bytes follow.
message pipe_data_entry {
  required uint32 pipe_id = 1;
  required uint32 bytes   = 2;
  optional uint32 size    = 3;
}
`;
