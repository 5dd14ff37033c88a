// The nsd web view: draws /events (server-sent events with the kernel's view as JSON). No build step.
'use strict';

const $ = (id) => document.getElementById(id);
const h = (tag, attrs = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of kids) e.append(c);
  return e;
};

let last = null;
/** The progress states the page has shown, in order (window.nsdProgressSeen). */
const progressSeen = [];
window.nsdProgressSeen = progressSeen;

function showError(text) {
  const e = $('error');
  e.hidden = false;
  e.textContent = text;
}

function renderTree(v) {
  const root = $('tree');
  root.replaceChildren();
  const byParent = new Map();
  const known = new Set(v.processes.map((p) => p.tgid));
  for (const p of v.processes) {
    const parent = known.has(p.parent) ? p.parent : 0;
    if (!byParent.has(parent)) byParent.set(parent, []);
    byParent.get(parent).push(p);
  }
  const list = (parent) => {
    const ul = h('ul', { class: 'tree' });
    for (const p of byParent.get(parent) ?? []) {
      const li = h('li', { class: 'proc', 'data-pid': String(p.tgid) });
      const full = (p.argv.length ? p.argv.join(' ') : p.comm).replace(/\s+/g, ' ');
      const args = full.length > 60 ? `${full.slice(0, 60)}…` : full;
      li.append(
        h('span', { class: 'pids', title: 'pid in each pid namespace, initial namespace first', text: p.pids.join(' / ') }), ' ',
        h('span', { class: 'comm', title: full, text: args }), ' ',
        h('span', { class: 'state', text: `${p.state} · pidns ${p.pidns} (level ${p.level}) · ipcns ${p.ipcns}` }),
      );
      for (const t of p.threads) {
        const armed = t.nsd !== 'UNSET';
        const row = h('div', { class: 'thread', 'data-tid': String(t.kid) },
          h('span', { text: `thread ${t.pids.join(' / ')} ${t.state}${t.wchan ? ` on ${t.wchan}` : ''} ` }),
          h('span', { class: armed ? 'nsd armed' : 'nsd', title: 'next_syscall_data', text: t.nsd }));
        li.append(row);
      }
      if (byParent.has(p.tgid)) li.append(list(p.tgid));
      ul.append(li);
    }
    return ul;
  };
  root.append(v.processes.length ? list(0) : h('p', { class: 'empty', text: 'no processes' }));
}

function table(head, rows) {
  const t = h('table');
  t.append(h('tr', {}, ...head.map((x) => h('th', { text: x }))));
  for (const r of rows) t.append(h('tr', {}, ...r.map((x) => (x instanceof Node ? h('td', {}, x) : h('td', { text: String(x) })))));
  return t;
}

function renderIpc(v) {
  const root = $('ipc');
  root.replaceChildren();
  for (const ns of v.ipc) {
    const box = h('div', { class: 'ns', 'data-ipcns': String(ns.id) }, h('h3', { text: `IPC namespace ${ns.id}` }));
    if (!ns.msg.length && !ns.sem.length && !ns.shm.length) box.append(h('p', { class: 'empty', text: 'no objects' }));
    if (ns.msg.length) box.append(table(['msqid', 'key', 'messages', 'lspid/lrpid', 'waiters'], ns.msg.map((q) => [
      q.id, `0x${(q.key >>> 0).toString(16).padStart(8, '0')}`, q.messages.map((m) => `${m.mtype}:${m.text}`).join(' | ') || '—', `${q.lspid}/${q.lrpid}`, q.waiters.join(' ') || '—',
    ])));
    if (ns.sem.length) box.append(table(['semid', 'key', 'values', 'waiters'], ns.sem.map((s) => [
      s.id, `0x${(s.key >>> 0).toString(16).padStart(8, '0')}`, s.values.join(', '), s.waiters.join(' ') || '—',
    ])));
    if (ns.shm.length) box.append(table(['shmid', 'key', 'size', 'nattch', 'attached by'], ns.shm.map((s) => [
      s.id, `0x${(s.key >>> 0).toString(16).padStart(8, '0')}`, s.size, s.nattch, s.attached.join(' ') || '—',
    ])));
    root.append(box);
  }
}

function renderFds(v) {
  const root = $('fds');
  root.replaceChildren();
  const files = new Map(v.files.map((f) => [f.id, f]));
  for (const t of v.fdtables) {
    const box = h('div', { class: 'fdtable' }, h('h3', { text: `fd table of pid ${t.procs.join(', ')}` }));
    for (const d of t.fds) {
      const f = files.get(d.file);
      const what = f ? (f.kind === 'pipe' ? `pipe:[${f.ino}] ${f.pipe === 'w' ? 'write' : 'read'} end` : f.path || f.kind) : '?';
      box.append(h('div', { class: f && f.kind === 'pipe' ? 'fd pipe' : 'fd', 'data-file': String(d.file), 'data-ino': f ? String(f.ino) : '', 'data-pipe': f ? f.pipe : '',
        title: `open file description ${d.file}, pos ${f ? f.pos : '?'}`, text: `${d.fd} → ${what}${d.cloexec ? ' (cloexec)' : ''}` }));
    }
    root.append(box);
  }
  drawLinks();
}

/** Lines between fds sharing an open file description, dashed between a pipe's two ends. */
function drawLinks() {
  const svg = $('links');
  svg.replaceChildren();
  const base = $('fds-wrap').getBoundingClientRect();
  const els = [...document.querySelectorAll('#fds .fd')];
  const line = (a, b, dashed, cls) => {
    const ra = a.getBoundingClientRect();
    const rb = b.getBoundingClientRect();
    const p = document.createElementNS('http://www.w3.org/2000/svg', 'path');
    const y1 = ra.top + ra.height / 2 - base.top;
    const y2 = rb.top + rb.height / 2 - base.top;
    if (a.parentElement === b.parentElement) {
      // Both ends in one fd table: an arc on its right side.
      const x = Math.max(ra.right, rb.right) - base.left;
      p.setAttribute('d', `M${x},${y1} C${x + 24},${y1} ${x + 24},${y2} ${x},${y2}`);
    } else {
      const x1 = ra.right - base.left;
      const x2 = rb.left - base.left;
      const mx = (x1 + x2) / 2;
      p.setAttribute('d', `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`);
    }
    p.setAttribute('fill', 'none');
    p.setAttribute('stroke', dashed ? '#2e8b57' : '#3b6fd4');
    p.setAttribute('stroke-width', '1.5');
    if (dashed) p.setAttribute('stroke-dasharray', '5 4');
    p.setAttribute('class', cls);
    svg.append(p);
  };
  const byFile = new Map();
  for (const e of els) {
    const k = e.dataset.file;
    if (!byFile.has(k)) byFile.set(k, []);
    byFile.get(k).push(e);
  }
  for (const group of byFile.values()) for (let i = 1; i < group.length; i++) line(group[i - 1], group[i], false, 'shared');
  const pipes = new Map();
  for (const e of els) {
    if (!e.dataset.pipe) continue;
    const k = e.dataset.ino;
    if (!pipes.has(k)) pipes.set(k, { r: null, w: null });
    const p = pipes.get(k);
    if (!p[e.dataset.pipe]) p[e.dataset.pipe] = e;
  }
  for (const p of pipes.values()) if (p.r && p.w) line(p.w, p.r, true, 'pipe');
}

function renderCr(v) {
  const sec = $('cr-section');
  if (!v.cr) {
    sec.hidden = true;
    return;
  }
  sec.hidden = false;
  const prog = $('progress');
  prog.replaceChildren();
  for (const p of v.cr.progress) {
    // total 0: a restore still running (its number of steps is known when it ends).
    const bar = p.total > 0 ? h('progress', { max: String(p.total), value: String(p.done) }) : h('progress', {});
    const state = p.total > 0 && p.done >= p.total ? 'done' : 'running';
    prog.append(h('div', { class: `progress-row ${state}`, 'data-phase': p.phase }, h('span', { text: p.phase }), bar,
      h('span', { text: p.total > 0 ? `${p.done}/${p.total} ${p.what}` : `step ${p.done}: ${p.what}` })));
    // Every state seen, in order (for tests and the console): phase done/total, and whether the table was there yet.
    const seen = `${p.phase} ${p.done}/${p.total}${v.cr.table.length ? ' +table' : ''}`;
    if (progressSeen[progressSeen.length - 1] !== seen && !progressSeen.includes(seen)) progressSeen.push(seen);
  }
  const cr = $('cr');
  cr.replaceChildren();
  if (v.cr.table.length) {
    const [head, ...rows] = v.cr.table;
    const t = h('table', { id: 'cr-table' });
    t.append(h('tr', {}, ...head.map((x) => h('th', { text: x }))));
    for (const r of rows) {
      t.append(h('tr', {}, ...r.map((x, i) => (i >= 2 && x.endsWith('*') ? h('td', { class: 'lost', title: 'lost by this strategy', text: x }) : h('td', { text: x })))));
    }
    if (Object.keys(v.cr.verdicts).length) {
      t.append(h('tr', {}, h('th', { text: 'restored run vs uninterrupted' }), h('td', { text: '' }), ...head.slice(2).map((s) => h('td', { text: v.cr.verdicts[s] ?? '' }))));
    }
    cr.append(t);
  }
}

function render(v) {
  if (!v) return;
  last = v;
  const st = $('status');
  st.textContent = v.status;
  st.className = `status ${v.status}`;
  $('clock').textContent = `${v.profile} · step ${v.steps} · t=${(v.clockNs / 1e9).toFixed(3)}s`;
  if (v.status !== 'running' && v.message) showError(v.message);
  renderTree(v);
  renderIpc(v);
  renderFds(v);
  renderCr(v);
  $('console').textContent = v.console ?? '';
  $('console-section').hidden = !v.console;
}

const events = new EventSource('events');
let ended = false;
events.addEventListener('view', (e) => render(JSON.parse(e.data)));
events.addEventListener('end', (e) => {
  ended = true;
  const d = JSON.parse(e.data);
  const st = $('status');
  st.textContent = d.status;
  st.className = `status ${d.status}`;
  showError(d.status === 'panic' ? `The kernel panicked: ${d.message}` : `The session ended: ${d.message}`);
  events.close();
});
events.onerror = () => {
  if (ended) return;
  const st = $('status');
  st.textContent = 'disconnected';
  st.className = 'status lost';
  showError('Lost the connection to nsd: the session has ended or the server stopped. The last state received is shown below.');
  events.close();
};
window.addEventListener('resize', () => last && drawLinks());
