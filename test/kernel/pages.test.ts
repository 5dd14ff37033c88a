/**
 * The sparse page store (src/kernel/mm/pages.ts): writes keep pages in blocks, runs come out as a
 * pagemap + pages pair would hold them. Checked against a dense model of the same bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PAGE_SIZE } from '../../src/abi/constants.js';
import { type PageStore, storeBytes, storeDrop, storeRead, storeRuns, storeWrite } from '../../src/kernel/mm/pages.js';

const PAGES = 24;

/** A write: offset, length, and a fill byte per page-sized chunk (0 leaves zero pages). */
const writeArb = fc.record({
  off: fc.integer({ min: 0, max: PAGES * PAGE_SIZE - 1 }),
  len: fc.integer({ min: 0, max: 9 * PAGE_SIZE }),
  fills: fc.array(fc.constantFrom(0, 0, 1, 7, 255), { minLength: 10, maxLength: 10 }),
  drop: fc.option(fc.tuple(fc.integer({ min: 0, max: PAGES - 1 }), fc.integer({ min: 1, max: 4 })), { freq: 4 }),
});

test('property: storeWrite/storeDrop agree with a dense array; storeRuns lists exactly the non-zero pages', () => {
  fc.assert(
    fc.property(fc.array(writeArb, { minLength: 1, maxLength: 8 }), fc.boolean(), (writes, share) => {
      const store: PageStore = new Map();
      const dense = new Uint8Array(PAGES * PAGE_SIZE);
      for (const w of writes) {
        const len = Math.min(w.len, dense.length - w.off);
        const src = new Uint8Array(len);
        for (let i = 0; i < len; i++) src[i] = w.fills[Math.floor(i / PAGE_SIZE)]!;
        const touched: number[] = [];
        storeWrite(store, w.off, src, (pn) => touched.push(pn));
        dense.set(src, w.off);
        // Every page the write covers is reported once, in order.
        const first = Math.floor(w.off / PAGE_SIZE);
        const last = len === 0 ? first - 1 : Math.floor((w.off + len - 1) / PAGE_SIZE);
        assert.deepEqual(touched, Array.from({ length: last - first + 1 }, (_, i) => first + i));
        if (w.drop) {
          const [at, n] = w.drop;
          storeDrop(store, at, n);
          dense.fill(0, at * PAGE_SIZE, Math.min(PAGES, at + n) * PAGE_SIZE);
        }
      }
      assert.deepEqual(storeBytes(store, 0, dense.length), dense);
      // No page is allocated for zeros written into a hole: every stored page is PAGE_SIZE long.
      for (const page of store.values()) assert.equal(page.length, PAGE_SIZE);
      const { runs, bytes } = storeRuns(store, 0, PAGES, share);
      const nonZero: number[] = [];
      for (let pn = 0; pn < PAGES; pn++) if (dense.subarray(pn * PAGE_SIZE, (pn + 1) * PAGE_SIZE).some((b) => b !== 0)) nonZero.push(pn);
      assert.deepEqual(runs.flatMap(([f, n]) => Array.from({ length: n }, (_, i) => f + i)), nonZero);
      for (let i = 1; i < runs.length; i++) assert.ok(runs[i]![0] > runs[i - 1]![0] + runs[i - 1]![1], 'runs are maximal');
      assert.equal(bytes.length, nonZero.length * PAGE_SIZE);
      nonZero.forEach((pn, i) => assert.deepEqual(bytes.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE), dense.subarray(pn * PAGE_SIZE, (pn + 1) * PAGE_SIZE)));
    }),
    { seed: 1313, numRuns: 400 },
  );
});

test('a large write is kept as one block: storeRuns copies it (or, shared, views it) without a per-page copy', () => {
  const store: PageStore = new Map();
  const src = new Uint8Array(64 * PAGE_SIZE).fill(3);
  storeWrite(store, 8 * PAGE_SIZE, src);
  const pages = [...store.values()];
  assert.equal(pages.length, 64);
  assert.ok(pages.every((p) => p.buffer === pages[0]!.buffer), 'one buffer behind the 64 pages');
  assert.notEqual(pages[0]!.buffer, src.buffer, 'the store copies the writer\'s bytes');
  const copied = storeRuns(store, 8, 64);
  assert.deepEqual(copied.runs, [[0, 64]]);
  assert.notEqual(copied.bytes.buffer, pages[0]!.buffer);
  const shared = storeRuns(store, 8, 64, true);
  assert.equal(shared.bytes.buffer, pages[0]!.buffer, 'share: a view of the block');
  // A later write into the shared block shows through the view: why sharing is opt-in.
  storeWrite(store, 8 * PAGE_SIZE, new Uint8Array([9]));
  assert.equal(shared.bytes[0], 9);
  assert.equal(copied.bytes[0], 3);
  // Reading back across the block's pages.
  const out = new Uint8Array(3 * PAGE_SIZE);
  storeRead(store, 9 * PAGE_SIZE - 10, out.length, out, 0);
  assert.ok(out.every((b) => b === 3));
});
