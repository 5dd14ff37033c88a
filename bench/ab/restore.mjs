/**
 * A/B of dump() and restore() between builds, alternating round by round in one process (this
 * machine's noise is ±40%: only figures taken side by side compare). Each DIST is a built tree's
 * dist/ directory, e.g. the current one and a base revision built beside it:
 *
 *   git worktree add /tmp/base REV && (cd /tmp/base && npm ci && npx tsc -p tsconfig.json)
 *   node bench/ab/restore.mjs workload 7 /tmp/base/dist dist
 *
 * SCENARIO is an id of CR_SCENARIOS (bench/suites/cr.ts). Prints, per build, median [range] of
 * wall and CPU (user + sys) ms. STRAT=nsd|with-id|mainline picks the strategy; ADOPT=1 passes
 * `adoptImages` to restore (builds that have it).
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { cpuUsage } from 'node:process';
const [scId, roundsS, ...dists] = process.argv.slice(2);
if (!scId || !(Number(roundsS) > 0) || dists.length === 0) {
  console.error('usage: node bench/ab/restore.mjs SCENARIO ROUNDS DIST [DIST ...]');
  process.exit(2);
}
const rounds = Number(roundsS);
const mods = [];
for (const d of dists) {
  const cr = await import(`${pathToFileURL(resolve(d)).href}/bench/suites/cr.js`);
  const lib = await import(`${pathToFileURL(resolve(d)).href}/src/cr/index.js`);
  mods.push({ d, cr, lib });
}
if (!mods[0].cr.CR_SCENARIOS.some((s) => s.id === scId)) {
  console.error(`unknown scenario ${scId}: one of ${mods[0].cr.CR_SCENARIOS.map((s) => s.id).join(', ')}`);
  process.exit(2);
}
const res = mods.map(() => ({ dump: [], restore: [], dumpCpu: [], restoreCpu: [] }));
const strategy = process.env.STRAT ?? 'nsd';
function once(m) {
  const sc = m.cr.CR_SCENARIOS.find((s) => s.id === scId);
  const { k, root } = m.cr.buildContainer(sc.shape);
  const c0 = cpuUsage(); const t0 = performance.now();
  const d = m.lib.dump(k, root.pid, sc.dumpOptions);
  const t1 = performance.now(); const c1 = cpuUsage();
  k.init.sys.wait4(root.pid, 0);
  const images = new Map([...d.images].map(([n, b]) => [n, b.slice()]));
  const c2 = cpuUsage(); const t2 = performance.now();
  m.lib.restore(k, images, { strategy, adoptImages: !!process.env.ADOPT });
  const t3 = performance.now(); const c3 = cpuUsage();
  const cpu = (a, b) => (b.user + b.system - a.user - a.system) / 1000;
  return { dump: t1 - t0, restore: t3 - t2, dumpCpu: cpu(c0, c1), restoreCpu: cpu(c2, c3) };
}
for (const m of mods) once(m); // warm-up
for (let r = 0; r < rounds; r++) {
  mods.forEach((m, i) => { const s = once(m); for (const k of Object.keys(s)) res[i][k].push(s[k]); });
}
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s[s.length >> 1]; };
const f = (a) => `${med(a).toFixed(1)} [${Math.min(...a).toFixed(0)}–${Math.max(...a).toFixed(0)}]`;
mods.forEach((m, i) => console.log(`${m.d}: dump ${f(res[i].dump)} (cpu ${f(res[i].dumpCpu)}) restore ${f(res[i].restore)} (cpu ${f(res[i].restoreCpu)})`));
