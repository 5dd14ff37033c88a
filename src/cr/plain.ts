/**
 * Design note: plain kernel data (what `KernelState` is made of) as JSON text and back, for the
 * nsd-extra image. JSON has no bigint, bytes, Map, Set or undefined, so those become tagged
 * objects `{"$t": tag, "v": …}`; an ordinary object that happens to have a `$t` key is wrapped as
 * `{"$t": "obj", "v": {…}}` so decoding is never ambiguous. Key order is kept, so encoding the
 * same data twice gives the same text (the round-trip tests compare images byte for byte).
 */

type Tagged = { $t: string; v?: unknown };

function toJsonable(v: unknown): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') {
    if (Number.isFinite(v)) return Object.is(v, -0) ? { $t: 'num', v: '-0' } : v;
    return { $t: 'num', v: String(v) };
  }
  if (v === undefined) return { $t: 'undef' };
  if (typeof v === 'bigint') return { $t: 'big', v: v.toString() };
  if (v instanceof Uint8Array) return { $t: 'u8', v: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  if (Array.isArray(v)) return v.map(toJsonable);
  if (v instanceof Map) return { $t: 'map', v: [...v.entries()].map(([k, x]) => [toJsonable(k), toJsonable(x)]) };
  if (v instanceof Set) return { $t: 'set', v: [...v].map(toJsonable) };
  if (typeof v === 'object') {
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto !== Object.prototype && proto !== null) throw new TypeError(`not plain data: ${String(proto && (proto as { constructor?: { name?: string } }).constructor?.name)}`);
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = toJsonable(x);
    return Object.prototype.hasOwnProperty.call(v, '$t') ? { $t: 'obj', v: out } : out;
  }
  throw new TypeError(`not plain data: ${typeof v}`);
}

function fromJsonable(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(fromJsonable);
  const o = v as Tagged & Record<string, unknown>;
  if (typeof o.$t === 'string') {
    switch (o.$t) {
      case 'num':
        return o.v === '-0' ? -0 : Number(o.v);
      case 'undef':
        return undefined;
      case 'big':
        return BigInt(String(o.v));
      case 'u8':
        return new Uint8Array(Buffer.from(String(o.v), 'base64'));
      case 'map':
        return new Map((o.v as unknown[][]).map(([k, x]) => [fromJsonable(k), fromJsonable(x)]));
      case 'set':
        return new Set((o.v as unknown[]).map(fromJsonable));
      case 'obj':
        return plainObject(o.v as Record<string, unknown>);
      default:
        throw new TypeError(`unknown tag ${o.$t}`);
    }
  }
  return plainObject(o);
}

function plainObject(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(o)) out[k] = fromJsonable(x);
  return out;
}

/** Plain data → JSON text (deterministic). Throws TypeError for class instances or functions. */
export function encodePlain(v: unknown): string {
  // Data with nothing to tag (the common case: numbers, strings, lists, plain objects) is the
  // JSON toJsonable would give: stringified as is, without building a tagged copy first.
  return JSON.stringify(jsonSafe(v, 0) ? v : toJsonable(v));
}

/** The reference encodePlain checks against (test/cr/plain.test.ts): every value through toJsonable. */
export function encodePlainTagged(v: unknown): string {
  return JSON.stringify(toJsonable(v));
}

/** Does JSON.stringify(v) equal JSON.stringify(toJsonable(v))? (No value needing a tag, no `$t`/`__proto__` key, not too deep.) */
function jsonSafe(v: unknown, depth: number): boolean {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v) && !Object.is(v, -0);
  if (typeof v !== 'object' || depth > 64) return false;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (!jsonSafe(v[i], depth + 1)) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== null) return false;
  for (const k of Object.keys(v)) {
    if (k === '$t' || k === '__proto__' || !jsonSafe((v as Record<string, unknown>)[k], depth + 1)) return false;
  }
  return true;
}

/** JSON text → plain data. Throws SyntaxError/TypeError for text `encodePlain` did not write. */
export function decodePlain<T = unknown>(text: string): T {
  // Short text with no `$t` nor `__proto__` anywhere is untagged (nesting deeper than 64 takes
  // 130 characters): taken as parsed without the walk below — a restore reads ~10^3 of these.
  if (text.length < 130 && !text.includes('$t') && !text.includes('__proto__')) return JSON.parse(text) as T;
  const v: unknown = JSON.parse(text);
  // Untagged JSON (no `$t`, no `__proto__` key, not too deep) is already the plain data
  // fromJsonable would rebuild: taken as parsed, without a second tree.
  return (untagged(v, 0) ? v : fromJsonable(v)) as T;
}

function untagged(v: unknown, depth: number): boolean {
  if (v === null || typeof v !== 'object') return true;
  if (depth > 64) return false;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (!untagged(v[i], depth + 1)) return false;
    return true;
  }
  for (const k in v) {
    if (k === '$t' || k === '__proto__' || !untagged((v as Record<string, unknown>)[k], depth + 1)) return false;
  }
  return true;
}
