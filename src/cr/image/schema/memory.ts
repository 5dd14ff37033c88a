/**
 * Design note: page maps. Source: checkpoint-restore/criu images/pagemap.proto.
 * CRIU 4.x renamed field 2 to compat_nr_pages and added nr_pages = 5 as a
 * uint64; its reader takes nr_pages when present, else compat_nr_pages
 * (criu/pagemap.c init_compat_pagemap_entry). The shared CRIU 4.2 dump writes
 * compat_nr_pages = 0 and nr_pages = N, which is why crit 3.17 shows 0 pages.
 */
export const MEMORY_PROTO = `
syntax = "proto2";

// criu images/pagemap.proto: first entry of every pagemap image.
message pagemap_head {
  required uint32 pages_id = 1;
}

// criu images/pagemap.proto: a run of pages; flags are PE_* (criu/include/pagemap.h).
message pagemap_entry {
  required uint64 vaddr           = 1;
  required uint32 compat_nr_pages = 2;
  optional bool   in_parent       = 3;
  optional uint32 flags           = 4;
  optional uint64 nr_pages        = 5;
}
`;
