import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteWriter, isZero } from '../../../src/cr/image/bytes.js';

test('ByteWriter: any mix of u16, u32, zeros and pieces of every size gives their plain concatenation', () => {
  let x = 20080708;
  const rand = (n: number): number => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x % n;
  };
  for (let run = 0; run < 200; run++) {
    const w = new ByteWriter();
    const want: number[] = [];
    for (let op = rand(60); op > 0; op--) {
      switch (rand(4)) {
        case 0: {
          const v = rand(0x10000);
          w.u16(v);
          want.push(v & 0xff, v >>> 8);
          break;
        }
        case 1: {
          const v = rand(0x7fffffff) * 2 + rand(2);
          w.u32(v);
          want.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
          break;
        }
        case 2: {
          const n = rand(3) === 0 ? rand(5000) : rand(16);
          w.zeros(n);
          for (let i = 0; i < n; i++) want.push(0);
          break;
        }
        default: {
          const n = rand(3) === 0 ? 900 + rand(3000) : rand(64);
          const b = Uint8Array.from({ length: n }, () => 1 + rand(255));
          w.bytes(b);
          want.push(...b);
        }
      }
    }
    assert.deepEqual(w.finish(), Uint8Array.from(want), `run ${run}`);
  }
});

test('isZero: whole buffers, ranges and views, across its 64 KiB steps', () => {
  const big = new Uint8Array(200_000);
  assert.equal(isZero(big), true);
  assert.equal(isZero(new Uint8Array(0)), true);
  big[199_999] = 1;
  assert.equal(isZero(big), false);
  assert.equal(isZero(big, 0, 199_999), true);
  assert.equal(isZero(big, 199_999, 1), false);
  assert.equal(isZero(big.subarray(65_536)), false);
  assert.equal(isZero(big.subarray(65_536, 199_999)), true);
  big[4096] = 7;
  assert.equal(isZero(big, 0, 4096), true);
  assert.equal(isZero(big, 4096, 4096), false);
});
