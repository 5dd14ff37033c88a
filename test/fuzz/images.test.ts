/**
 * A slice of the `images` fuzz campaign (fuzz/campaigns/images.ts; `npm run fuzz images` runs
 * 1,400 cases per restore strategy): corrupted checkpoints are refused naming the image with the
 * kernel unchanged, or restore the intact checkpoint's state — never a different one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runImages } from '../../fuzz/campaigns/images.js';

const SEED = Number(process.env.NSD_SEED ?? 20080708);
const SCALE = 0.02;
const IPC_EXTRA = 'nsd-extra-1.img';

test(`images campaign, scale ${SCALE}: every corrupted checkpoint (but the IPC extra image) is refused by name or restored identically`, () => {
  const r = runImages(SEED, SCALE, () => {}, { images: (n) => n !== IPC_EXTRA });
  assert.deepEqual(r.failures, []);
  for (const s of ['nsd', 'with-id', 'mainline']) {
    assert.equal(r.counts[`${s} cases`], 28, s);
    assert.ok(r.counts[`${s} refused`]! > 20, `${s}: ${r.counts[`${s} refused`]} refused`);
  }
  assert.ok(r.counts['distinct refusal messages']! > 20, 'the refusals are specific');
});

// The IPC namespace's own extra image (src/cr/ipc-checkpoint.ts): every entry (an object's times, a process's
// `semundo/<pid>`, the `cursors/`) is required and schema-checked, so a removed or edited one is
// refused, never restored as "no SEM_UNDO list" / "no cursors".
test(`images campaign, scale ${SCALE * 4}: corrupted ${IPC_EXTRA} (and the CRIU-format images) are refused by name or restored identically`, () => {
  const r = runImages(SEED, SCALE * 4, () => {}, { images: (n) => n === IPC_EXTRA || !n.startsWith('nsd-extra') });
  assert.deepEqual(r.failures, []);
  for (const s of ['nsd', 'with-id', 'mainline']) assert.ok(r.counts[`${s} refused`]! > 100, `${s}: ${r.counts[`${s} refused`]} refused`);
});
