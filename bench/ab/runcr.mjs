/**
 * A/B of the bench's own runCr (images written to and read back from files, as `npm run bench`
 * reports them) between builds, alternating round by round in one process, `nsd` strategy:
 *
 *   node bench/ab/runcr.mjs workload 5 /tmp/base/dist dist
 *
 * See restore.mjs for making a base build. Prints, per build, the median and every round of dump
 * (= dumpOnly + write) and restore (= read + restoreOnly) ms, and MB/s.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
const [scId, roundsS, ...dists] = process.argv.slice(2);
if (!scId || !(Number(roundsS) > 0) || dists.length === 0) {
  console.error('usage: node bench/ab/runcr.mjs SCENARIO ROUNDS DIST [DIST ...]');
  process.exit(2);
}
const mods = await Promise.all(dists.map((d) => import(`${pathToFileURL(resolve(d)).href}/bench/suites/cr.js`)));
const res = mods.map(() => []);
if (!mods[0].CR_SCENARIOS.some((s) => s.id === scId)) {
  console.error(`unknown scenario ${scId}: one of ${mods[0].CR_SCENARIOS.map((s) => s.id).join(', ')}`);
  process.exit(2);
}
for (const m of mods) m.runCr(m.CR_SCENARIOS.find((s) => s.id === scId), 'nsd', { reps: 1, warmup: 0, shrink: 10 });
for (let r = 0; r < Number(roundsS); r++) {
  mods.forEach((m, i) => res[i].push(m.runCr(m.CR_SCENARIOS.find((s) => s.id === scId), 'nsd', { reps: 1, warmup: 0, shrink: 1 })));
}
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s[s.length >> 1]; };
const f = (xs, k) => `${med(xs.map((x) => x[k])).toFixed(1)} [${xs.map((x) => x[k].toFixed(0)).join(', ')}]`;
dists.forEach((d, i) => console.log(`${scId} ${d}: dump ${f(res[i], 'dumpMs')} = dumpOnly ${f(res[i], 'dumpOnlyMs')} + write ${f(res[i], 'writeMs')}; restore ${f(res[i], 'restoreMs')} = read ${f(res[i], 'readMs')} + restoreOnly ${f(res[i], 'restoreOnlyMs')}; MB/s dump ${med(res[i].map((x) => x.dumpMBps)).toFixed(0)} restore ${med(res[i].map((x) => x.restoreMBps)).toFixed(0)}`));
