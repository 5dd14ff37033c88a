/** Image-set comparison for round-trip tests: names the file and the entry that differ. */
import assert from 'node:assert/strict';
import { readNsdExtra } from '../../src/cr/image/index.js';

export function assertSameImages(got: ReadonlyMap<string, Uint8Array>, want: ReadonlyMap<string, Uint8Array>, what: string): void {
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), `${what}: image files`);
  for (const [name, bytes] of want) {
    const other = got.get(name)!;
    if (Buffer.compare(Buffer.from(other), Buffer.from(bytes)) === 0) continue;
    if (name.startsWith('nsd-extra')) {
      const a = readNsdExtra(other).entries;
      const b = readNsdExtra(bytes).entries;
      assert.deepEqual(a.map((e) => `${e.section}/${e.key}`), b.map((e) => `${e.section}/${e.key}`), `${what}: ${name} entries`);
      a.forEach((e, i) => assert.equal(e.json, b[i]!.json, `${what}: ${name} ${e.section}/${e.key}`));
    }
    assert.fail(`${what}: ${name} differs`);
  }
}
