/**
 * Design note: the System V IPC namespace messages, with CRIU's exact field
 * numbers, types and labels (proto2). Written out as .proto text and parsed by
 * protobufjs at load time, so no code generation step is needed. Sources, in
 * checkpoint-restore/criu: images/ipc-desc.proto, images/ipc-var.proto,
 * images/ipc-msg.proto, images/ipc-sem.proto, images/ipc-shm.proto.
 */
export const IPC_PROTO = `
syntax = "proto2";

// criu images/ipc-desc.proto: the ipc_perm part shared by msg/sem/shm.
message ipc_desc_entry {
  required uint32 key  = 1;
  required uint32 uid  = 2;
  required uint32 gid  = 3;
  required uint32 cuid = 4;
  required uint32 cgid = 5;
  required uint32 mode = 6;
  required uint32 id   = 7;
}

// criu images/ipc-var.proto: the namespace's ipc sysctls. The *_next_id
// fields are left out by CRIU when the sysctl reads -1 (criu/ipc_ns.c).
message ipc_var_entry {
  repeated uint32 sem_ctls           = 1;
  required uint32 msg_ctlmax         = 2;
  required uint32 msg_ctlmnb         = 3;
  required uint32 msg_ctlmni         = 4;
  required uint32 auto_msgmni        = 5;
  required uint64 shm_ctlmax         = 6;
  required uint64 shm_ctlall         = 7;
  required uint32 shm_ctlmni         = 8;
  required uint32 shm_rmid_forced    = 9;
  required uint32 mq_queues_max      = 10;
  required uint32 mq_msg_max         = 11;
  required uint32 mq_msgsize_max     = 12;
  optional uint32 mq_msg_default     = 13;
  optional uint32 mq_msgsize_default = 14;
  optional uint32 msg_next_id        = 15;
  optional uint32 sem_next_id        = 16;
  optional uint32 shm_next_id        = 17;
}

// criu images/ipc-msg.proto: one queued message header (body follows raw).
message ipc_msg {
  required uint64 mtype = 1;
  required uint32 msize = 2;
}

// criu images/ipc-msg.proto: one queue; qnum ipc_msg records follow it.
message ipc_msg_entry {
  required ipc_desc_entry desc   = 1;
  required uint32         qbytes = 2;
  required uint32         qnum   = 3;
}

// criu images/ipc-sem.proto: one set; u16[nsems] values follow it.
message ipc_sem_entry {
  required ipc_desc_entry desc  = 1;
  required uint32         nsems = 2;
}

// criu images/ipc-shm.proto: one segment; contents follow raw unless
// in_pagemaps, then they live in pagemap-shmem-<id>.img + pages-<n>.img.
message ipc_shm_entry {
  required ipc_desc_entry desc        = 1;
  required uint64         size        = 2;
  optional bool           in_pagemaps = 3;
}
`;
