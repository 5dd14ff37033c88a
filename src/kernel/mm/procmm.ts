/**
 * Dirty tracking as Linux exposes it (fs/proc/task_mmu.c): /proc/<pid>/pagemap, clear_refs and
 * smaps, read from the PTE state each mapping keeps as data (mm.ts: `present`, `softDirty`,
 * `vmSoftDirty`).
 *
 * pagemap (pagemap_read): one 8-byte little-endian entry per virtual page, the entry of page
 * `vaddr / 4096` at file offset `vaddr / 4096 * 8`; the position and the count must be multiples
 * of 8 (EINVAL); reads stop at TASK_SIZE. Modern format: bit 63 present, 62 swapped (never: no
 * swap), 61 file page or shared anonymous (a SysV shm page), 56 exclusively mapped (mapcount 1),
 * 55 soft-dirty, bits 0-54 the PFN — zero unless the reader has CAP_SYS_ADMIN (4.0+,
 * pm->show_pfn). The model has no physical frames: a privileged reader sees a synthetic PFN, the
 * same for every mapping of one shm page. A page in a VM_SOFTDIRTY mapping reads as soft-dirty
 * whether present or not; an address outside every mapping reads as 0. Private pages are copied
 * at fork in the model (no COW sharing), so a present private page always reads as exclusive.
 * 2.6.26's format: bits 55-60 are the page shift (12), present entries carry the PFN for every
 * reader, absent ones (and holes) are PM_NOT_PRESENT = the page shift alone.
 *
 * clear_refs (clear_refs_write): 1 (all), 2 (anon), 3 (mapped) clear referenced bits, which the
 * model does not keep (no-ops); 4 clears every soft-dirty bit and VM_SOFTDIRTY of every mapping,
 * shared ones included; 5 resets the RSS high-water mark (not kept). Anything else is EINVAL. On
 * 2.6.26 any non-zero number clears the referenced bits.
 *
 * SysV shm: the segment's bytes are shared, but soft-dirty lives in each attaching task's mapping,
 * as in Linux: a write through one attachment marks only that attachment's page, and CRIU (and
 * the model's pre-dump, src/cr/predump.ts) learn a segment's dirty pages from the attaching tasks'
 * pagemaps.
 */
import { err } from '../../abi/errno.js';
import { CAP_SYS_ADMIN, PAGE_SIZE } from '../../abi/constants.js';
import type { KernelCore } from '../core.js';
import type { Mapping, TaskState } from '../state.js';
import { hasCap } from '../task/cred.js';
import { mapsLine, registerPidFile } from '../proc/procfs.js';
import { MAX_RW_COUNT, TASK_SIZE } from './mm.js';

/** Bits of a pagemap entry (fs/proc/task_mmu.c PM_*), as bigints and as bits of the high word. */
export const PM_PRESENT = 1n << 63n;
export const PM_SWAP = 1n << 62n;
export const PM_FILE = 1n << 61n;
export const PM_MMAP_EXCLUSIVE = 1n << 56n;
export const PM_SOFT_DIRTY = 1n << 55n;
export const PM_PFRAME_MASK = (1n << 55n) - 1n;
const HI_PRESENT = 1 << 31;
const HI_FILE = 1 << 29;
const HI_EXCLUSIVE = 1 << 24;
const HI_SOFT_DIRTY = 1 << 23;
/** 2.6.26: PM_PSHIFT(PAGE_SHIFT) = 12 << 55, in the high word. */
const HI_PSHIFT_OLD = 12 << 23;

export const CLEAR_REFS_ALL = 1;
export const CLEAR_REFS_SOFT_DIRTY = 4;
export const CLEAR_REFS_MM_HIWATER_RSS = 5;

function liveMm(k: KernelCore, tgid: number) {
  const t = k.s.tasks.get(tgid);
  if (!t || t.state === 'dead') throw err('ESRCH');
  return t.state === 'zombie' || !k.s.mms.has(t.mm) ? undefined : k.mm(t.mm);
}

/** mm_access(PTRACE_MODE_READ), reduced as process_vm_readv's check: same process, same uid, or CAP_SYS_ADMIN. */
function mayRead(k: KernelCore, reader: TaskState, tgid: number): boolean {
  const t = k.s.tasks.get(tgid)!;
  return reader.tgid === tgid || reader.cred.uid === t.cred.uid || hasCap(k, reader, CAP_SYS_ADMIN);
}

/** How many mappings, in every address space, have segment page `page` of shm (ipcns, shmid) present. */
function shmMapCount(k: KernelCore, m: Mapping, page: number): number {
  let n = 0;
  for (const mm of k.s.mms.values()) {
    for (const x of mm.maps) {
      if (x.kind !== 'shm' || x.ipcns !== m.ipcns || x.shmid !== m.shmid) continue;
      const vpn = page - (x.shmOff ?? 0) / PAGE_SIZE + x.start / PAGE_SIZE;
      if (x.present.has(vpn)) n++;
    }
  }
  return n;
}

/** A synthetic, stable page frame number (the model has no physical memory); < 2^32. */
function pfnOf(m: Mapping, mmId: number, vpn: number): number {
  if (m.kind === 'shm') return (0x80000000 + ((m.shmid & 0x7fff) << 16) + ((vpn - m.start / PAGE_SIZE + (m.shmOff ?? 0) / PAGE_SIZE) & 0xffff)) >>> 0;
  return (((mmId & 0x7fff) << 16) + (vpn & 0xffff) + 1) >>> 0;
}

/** pagemap_read(). */
export function pagemapRead(k: KernelCore, reader: TaskState, tgid: number, pos: number, count: number): Uint8Array {
  const mm = liveMm(k, tgid);
  if (!mayRead(k, reader, tgid)) throw err('EACCES');
  if (!mm) return new Uint8Array(0);
  if (pos % 8 !== 0 || count % 8 !== 0) throw err('EINVAL', 'pagemap reads are whole 8-byte entries');
  const modern = k.profile.softDirty;
  const showPfn = !modern || hasCap(k, reader, CAP_SYS_ADMIN);
  // vfs_read(): at most MAX_RW_COUNT bytes per read (a whole number of entries).
  const first = pos / 8;
  const last = Math.min(first + Math.min(count, MAX_RW_COUNT) / 8, TASK_SIZE / PAGE_SIZE);
  if (last <= first) return new Uint8Array(0);
  const out = new Uint8Array((last - first) * 8);
  const dv = new DataView(out.buffer);
  if (!modern) for (let i = 0; i < last - first; i++) dv.setUint32(i * 8 + 4, HI_PSHIFT_OLD, true);
  for (const m of mm.maps) {
    const mFirst = m.start / PAGE_SIZE;
    const from = Math.max(first, mFirst);
    const to = Math.min(last, mFirst + m.len / PAGE_SIZE);
    for (let vpn = from; vpn < to; vpn++) {
      const at = (vpn - first) * 8;
      const present = m.present.has(vpn);
      let hi = modern ? 0 : HI_PSHIFT_OLD;
      let lo = 0;
      if (present) {
        hi |= HI_PRESENT;
        if (showPfn) lo = pfnOf(m, mm.id, vpn);
      }
      if (modern) {
        if (m.vmSoftDirty || m.softDirty.has(vpn)) hi |= HI_SOFT_DIRTY;
        if (present && m.kind === 'shm') {
          hi |= HI_FILE;
          if (shmMapCount(k, m, vpn - mFirst + (m.shmOff ?? 0) / PAGE_SIZE) === 1) hi |= HI_EXCLUSIVE;
        } else if (present) {
          hi |= HI_EXCLUSIVE;
        }
      }
      dv.setUint32(at, lo, true);
      dv.setUint32(at + 4, hi >>> 0, true);
    }
  }
  return out;
}

/** clear_refs_write(): returns nothing; throws EINVAL for a bad value. */
export function clearRefsWrite(k: KernelCore, tgid: number, text: string): void {
  // PROC_NUMBUF: only the first 12 bytes are looked at.
  const buf = text.slice(0, 12);
  const mm = liveMm(k, tgid);
  if (!k.profile.softDirty) {
    // 2.6.26: simple_strtol(buffer, &end, 0) must be non-zero.
    const v = /^\s*[+-]?(0x[0-9a-f]+|[0-9]+)/i.exec(buf)?.[1] ?? '0';
    const n = /^0x/i.test(v) ? parseInt(v, 16) : v.startsWith('0') ? parseInt(v, 8) : parseInt(v, 10);
    if (!n) throw err('EINVAL');
    return;
  }
  // kstrtoint(strstrip(buffer), 10, &itype).
  const m = /^[+]?([0-9]+)$/.exec(buf.trim());
  if (!m) throw err('EINVAL');
  const type = Number(m[1]);
  if (type < CLEAR_REFS_ALL || type > CLEAR_REFS_MM_HIWATER_RSS) throw err('EINVAL');
  if (!mm || type !== CLEAR_REFS_SOFT_DIRTY) return;
  for (const x of mm.maps) {
    x.vmSoftDirty = false;
    x.softDirty.clear();
  }
}

function kB(pages: number): string {
  return `${String(pages * 4).padStart(8)} kB`;
}

/** show_smap(): the maps line, the sizes the model can tell, and VmFlags (3.8+; `sd` 3.11+). */
export function smapsText(k: KernelCore, tgid: number): string {
  const mm = liveMm(k, tgid);
  if (!mm) return '';
  const out: string[] = [];
  for (const m of mm.maps) {
    const pages = m.len / PAGE_SIZE;
    let shared = 0;
    let priv = 0;
    for (const vpn of m.present) {
      if (vpn < m.start / PAGE_SIZE || vpn >= m.start / PAGE_SIZE + pages) continue;
      if (m.kind === 'shm' && shmMapCount(k, m, vpn - m.start / PAGE_SIZE + (m.shmOff ?? 0) / PAGE_SIZE) > 1) shared++;
      else priv++;
    }
    const rss = shared + priv;
    const field = (name: string, v: number): string => `${(name + ':').padEnd(16)}${kB(v)}`;
    out.push(mapsLine(k, m));
    out.push(
      field('Size', pages), field('KernelPageSize', 1), field('MMUPageSize', 1), field('Rss', rss), field('Pss', priv),
      field('Shared_Clean', 0), field('Shared_Dirty', shared), field('Private_Clean', 0), field('Private_Dirty', priv),
      field('Referenced', rss), field('Anonymous', m.kind === 'anon' ? rss : 0), field('Swap', 0), field('Locked', 0),
    );
    if (k.profile.softDirty) {
      const f: string[] = [];
      if (m.prot & 1) f.push('rd');
      if (m.prot & 2) f.push('wr');
      if (m.prot & 4) f.push('ex');
      if (m.kind === 'shm') f.push('sh');
      f.push('mr', 'mw', 'me');
      if (m.kind === 'shm') f.push('ms');
      else f.push('ac');
      if (m.vmSoftDirty) f.push('sd');
      out.push(`VmFlags: ${f.join(' ')} `);
    }
  }
  return out.map((l) => l + '\n').join('');
}

registerPidFile({
  name: 'pagemap',
  mode: 0o400,
  read: () => '',
  readAt: pagemapRead,
});

registerPidFile({
  name: 'clear_refs',
  mode: 0o200,
  read: () => {
    throw err('EINVAL');
  },
  write: (k, _writer, tgid, text) => clearRefsWrite(k, tgid, text),
});

registerPidFile({
  name: 'smaps',
  mode: 0o444,
  read: (k, _reader, tgid) => smapsText(k, tgid),
});
