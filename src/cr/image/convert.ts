/**
 * Design note: protobufjs messages <-> plain data. Decoded entries become
 * plain objects holding only the fields present on the wire (so presence of
 * optional fields survives a round trip), 64-bit integers become exact
 * `bigint`s, bytes become Uint8Array, enums stay numbers. Encoding walks the
 * same reflection back: bigint -> Long, nested objects -> messages; protobufjs
 * then writes fields in field-number order, as protobuf-c does.
 */
import protobuf from 'protobufjs';
import { FAST_TYPES, fastEncode } from './fast.js';

/** A value in a decoded entry. */
export type FieldValue = number | bigint | boolean | string | Uint8Array | Entry | FieldValue[];
/** A decoded protobuf entry: field name -> value, present fields only. */
export interface Entry {
  [field: string]: FieldValue;
}

const LONG_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const UNSIGNED_LONG = new Set(['uint64', 'fixed64']);

/** True when a field's scalar type is 64 bits wide. */
export function isLongField(field: protobuf.Field): boolean {
  return LONG_TYPES.has(field.type);
}

function scalarFromWire(field: protobuf.Field, v: unknown): FieldValue {
  if (field.resolvedType instanceof protobuf.Type) return messageToEntry(field.resolvedType, v as protobuf.Message);
  if (isLongField(field)) {
    if (typeof v === 'number') return BigInt(v);
    const long = v as protobuf.Long;
    return BigInt(long.toString());
  }
  if (v instanceof Uint8Array) return new Uint8Array(v);
  return v as number | boolean | string;
}

/**
 * A decoded entry (or an image's entries) as the typed view of its message (types.ts: `EntryTypes`, `NsdExtraHead`…).
 * The one cast of the decoder, and why it holds: `messageToEntry` yields exactly the fields the
 * message's schema (schema/*.ts) declares, present ones only, with the value types above, and the
 * typed views mirror those messages field for field (optional where the proto says optional).
 */
export function entryAs<T extends object>(decoded: Entry | Entry[]): T {
  return decoded as unknown as T;
}

/** A decoded message as plain data (present fields only). */
export function messageToEntry(type: protobuf.Type, msg: protobuf.Message): Entry {
  const out: Entry = {};
  for (const field of type.fieldsArray) {
    if (!Object.prototype.hasOwnProperty.call(msg, field.name)) continue;
    const v: unknown = Reflect.get(msg, field.name);
    if (v === null || v === undefined) continue;
    if (field.repeated) {
      const list = v as unknown[];
      if (list.length > 0) out[field.name] = list.map((x) => scalarFromWire(field, x));
    } else {
      out[field.name] = scalarFromWire(field, v);
    }
  }
  return out;
}

function scalarToWire(field: protobuf.Field, v: FieldValue): unknown {
  if (field.resolvedType instanceof protobuf.Type) return entryToPlain(field.resolvedType, v as Entry);
  if (isLongField(field)) {
    const big = typeof v === 'bigint' ? v : BigInt(v as number);
    const unsigned = UNSIGNED_LONG.has(field.type);
    const [lo, hi] = unsigned ? [0n, 1n << 64n] : [-(1n << 63n), 1n << 63n];
    if (big < lo || big >= hi) throw new TypeError(`${field.name}: ${big} does not fit ${field.type}`);
    const bits = BigInt.asUintN(64, big);
    const low = Number(bits & 0xffffffffn) | 0;
    const high = Number(bits >> 32n) | 0;
    return new protobuf.util.Long(low, high, unsigned);
  }
  return v;
}

function entryToPlain(type: protobuf.Type, entry: Entry): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    const v = entry[field.name];
    if (v === undefined) continue;
    out[field.name] = field.repeated ? (v as FieldValue[]).map((x) => scalarToWire(field, x)) : scalarToWire(field, v);
  }
  return out;
}

/**
 * Plain data (an `Entry` or a typed view of the message, types.ts) -> protobuf bytes. Throws
 * TypeError naming the field when the data does not fit the message (missing required field,
 * wrong type).
 */
export function encodeEntry(type: protobuf.Type, entry: object): Uint8Array {
  const fast = FAST_TYPES.get(type.name);
  const bytes = fast ? fastEncode(fast, entry as Entry) : null;
  return bytes ?? encodeEntryGeneric(type, entry);
}

/** encodeEntry through protobufjs alone (the reference the fast encoder is tested against). */
export function encodeEntryGeneric(type: protobuf.Type, entry: object): Uint8Array {
  const plain = entryToPlain(type, entry as Entry);
  const problem = type.verify(plain);
  if (problem !== null) throw new TypeError(`${type.name}: ${problem}`);
  return type.encode(type.create(plain)).finish();
}
