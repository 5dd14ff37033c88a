/**
 * The hand-specialized entry decoders (src/cr/image/fast.ts) against protobufjs: on every input
 * they either decline (null) or return exactly what the generic decoder returns.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeEntry, messageToEntry, type Entry } from '../../../src/cr/image/convert.js';
import { FAST_TYPES, fastDecode } from '../../../src/cr/image/fast.js';
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
