/** decodePlain: untagged JSON taken as parsed, tagged JSON rebuilt; both inverse to encodePlain. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodePlain, encodePlain, encodePlainTagged } from '../../src/cr/plain.js';

const key = fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom('$t', 'v'));
const plain = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.integer(), fc.double(), fc.bigInt(), fc.string({ maxLength: 6 }), fc.boolean(), fc.constant(null),
    fc.uint8Array({ maxLength: 4 }), fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(key, tie('v'), { maxKeys: 3 }).map((d) => Object.assign({}, d)),
  ),
})).v;

test('decodePlain inverts encodePlain (tags, $t keys, -0, bigint, bytes)', () => {
  fc.assert(fc.property(plain, (v) => {
    assert.deepEqual(decodePlain(encodePlain(v)), v);
  }), { seed: 1313, numRuns: 800 });
});

test('decodePlain of untagged JSON is the parsed value; a $t object is still a tag', () => {
  fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => {
    const text = JSON.stringify(v);
    if (/"\$t"|"__proto__"/.test(text)) return;
    assert.deepEqual(decodePlain(text), JSON.parse(text));
  }), { seed: 1313, numRuns: 800 });
  assert.equal(decodePlain('{"$t":"big","v":"12"}'), 12n);
  assert.deepEqual(decodePlain('[{"a":{"$t":"num","v":"-0"}}]'), [{ a: -0 }]);
});

test('encodePlain writes the text of the tagged encoding, byte for byte, whether or not it takes the untagged path', () => {
  fc.assert(fc.property(fc.oneof(plain, fc.jsonValue({ maxDepth: 4 })), (v) => {
    assert.equal(encodePlain(v), encodePlainTagged(v));
  }), { seed: 1313, numRuns: 1500 });
  for (const v of [{ a: -0 }, [1, undefined], { $t: 1 }, { n: Infinity }, JSON.parse('{"__proto__":{"x":1}}'), Object.assign(Object.create(null), { a: 1 })]) {
    assert.equal(encodePlain(v), encodePlainTagged(v));
  }
});
