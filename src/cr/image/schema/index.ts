/**
 * Design note: one protobufjs Root holding every message this folder knows,
 * built once on first use from the .proto texts beside this file. `keepCase`
 * keeps CRIU's snake_case field names, so decoded objects read like crit's.
 */
import protobuf from 'protobufjs';
import { IPC_PROTO } from './ipc.js';
import { MEMORY_PROTO } from './memory.js';
import { NSD_PROTO } from './nsd.js';
import { TASK_PROTO } from './task.js';

let root: protobuf.Root | undefined;
/** Types already looked up: `lookupType` walks the namespace tree on every call. */
const types = new Map<string, protobuf.Type>();

/** The shared Root with all CRIU and nsd messages. */
export function schemaRoot(): protobuf.Root {
  if (root === undefined) {
    const r = new protobuf.Root();
    for (const text of [IPC_PROTO, TASK_PROTO, MEMORY_PROTO, NSD_PROTO]) {
      protobuf.parse(text, r, { keepCase: true });
    }
    r.resolveAll();
    root = r;
  }
  return root;
}

/** A message type by its CRIU name, e.g. "ipc_msg_entry". */
export function messageType(name: string): protobuf.Type {
  let type = types.get(name);
  if (type === undefined) {
    type = schemaRoot().lookupType(name);
    types.set(name, type);
  }
  return type;
}
