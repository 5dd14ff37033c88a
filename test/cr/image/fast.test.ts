/**
 * The hand-specialized entry decoders (src/cr/image/fast.ts) against protobufjs: on every input
 * they either decline (null) or return exactly what the generic decoder returns.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeEntry, encodeEntryGeneric, messageToEntry, type Entry } from '../../../src/cr/image/convert.js';
import { FAST_TYPES, fastDecode, fastEncode } from '../../../src/cr/image/fast.js';
import { messageType } from '../../../src/cr/image/schema/index.js';

const u32 = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 0xffffffff }));
const u64 = fc.oneof(fc.bigInt({ min: 0n, max: 1000n }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }));
const desc = fc.record({ key: u32, uid: u32, gid: u32, cuid: u32, cgid: u32, mode: u32, id: u32 });
const text = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('msg', 'sem', 'shm', 'semundo', 'cursors', ''));

const ENTRIES: Record<string, fc.Arbitrary<Entry>> = {
  ipc_msg: fc.record({ mtype: u64, msize: u32 }),
  ipc_msg_entry: fc.record({ desc, qbytes: u32, qnum: u32 }),
  ipc_sem_entry: fc.record({ desc, nsems: u32 }),
  ipc_shm_entry: fc.record({ desc, size: u64, in_pagemaps: fc.boolean() }, { requiredKeys: ['desc', 'size'] }),
  nsd_extra_entry: fc.record({ section: text, key: text, json: text, blob: fc.uint8Array({ maxLength: 8 }) }, { requiredKeys: ['section', 'key'] }),
  pagemap_head: fc.record({ pages_id: u32 }),
  pagemap_entry: fc.record({ vaddr: u64, compat_nr_pages: u32, in_parent: fc.boolean(), flags: u32, nr_pages: u64 }, { requiredKeys: ['vaddr', 'compat_nr_pages'] }),
};

/** protobufjs's answer: the entry, or 'refused'. */
function generic(name: string, raw: Uint8Array): Entry | 'refused' {
  const type = messageType(name);
  try {
    return messageToEntry(type, type.decode(raw));
  } catch {
    return 'refused';
  }
}

for (const name of FAST_TYPES.keys()) {
  test(`fastDecode ${name}: declines or equals protobufjs, on encoded entries and on mutated bytes`, () => {
    const fast = FAST_TYPES.get(name)!;
    let taken = 0;
    fc.assert(
      fc.property(ENTRIES[name]!, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }), fc.nat(8), (e, flips, cut) => {
        const raw = encodeEntry(messageType(name), e);
        const got = fastDecode(fast, raw, 0, raw.length);
        if (got !== null) {
          assert.deepEqual(got, generic(name, raw));
          taken++;
        }
        const bad = raw.slice(0, Math.max(0, raw.length - (cut % 3 === 0 ? cut : 0)));
        for (const [at, v] of flips) if (bad.length) bad[at % bad.length] = v;
        const g2 = fastDecode(fast, bad, 0, bad.length);
        if (g2 !== null) assert.deepEqual(g2, generic(name, bad));
      }),
      { seed: 1313, numRuns: 1500 },
    );
    // The fast path is taken for the plain entries a dump writes, not only declined.
    assert.ok(taken > 300, `fast path taken ${taken} times`);
  });
}

/** protobufjs's bytes for an entry, or 'refused'. */
function genericBytes(name: string, e: Entry): Uint8Array | 'refused' {
  try {
    // As a plain Uint8Array (protobufjs gives a Buffer under Node): the bytes are compared.
    return new Uint8Array(encodeEntryGeneric(messageType(name), e));
  } catch {
    return 'refused';
  }
}

for (const name of FAST_TYPES.keys()) {
  test(`fastEncode ${name}: declines or writes protobufjs's bytes, on plain and on ill-typed entries`, () => {
    const fast = FAST_TYPES.get(name)!;
    let taken = 0;
    const odd = fc.oneof(fc.constant(undefined), fc.constant(-1), fc.constant(2 ** 32), fc.constant('é'), fc.constant(1.5), fc.constant(2n ** 60n), fc.constant(true));
    fc.assert(
      fc.property(ENTRIES[name]!, fc.option(fc.tuple(fc.nat(), odd)), (e0, spoil) => {
        const e: Entry = { ...e0 };
        if (spoil) {
          const keys = Object.keys(e);
          (e as Record<string, unknown>)[keys[spoil[0] % keys.length]!] = spoil[1];
        }
        const got = fastEncode(fast, e);
        const want = genericBytes(name, e);
        if (got !== null) {
          assert.deepEqual(got, want);
          taken++;
        } else {
          // Declined: encodeEntry falls back to protobufjs and gives its answer.
          if (want === 'refused') assert.throws(() => encodeEntry(messageType(name), e));
          else assert.deepEqual(new Uint8Array(encodeEntry(messageType(name), e)), want);
        }
      }),
      { seed: 1313, numRuns: 1500 },
    );
    // Half the entries are spoiled and many u64s exceed 2^53: the rest must take the fast path.
    assert.ok(taken > 100, `fast path taken ${taken} times`);
  });
}
