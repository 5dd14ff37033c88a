/**
 * The syscalls' records (msqid_ds, semid_ds, shmid_ds, ipc64_perm, stat, dirent, rlimit, wait4's
 * result) live in src/abi: userland imports no kernel file for them (src/host: test/host/boundary.test.ts), and what
 * the kernel returns has exactly the record's fields.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { Kernel, constants as C } from '../../src/index.js';
import type { IpcPermDs, MsqidDs, SemidDs, ShmidDs } from '../../src/abi/ipc.js';
import type { Stat } from '../../src/abi/fs.js';
import type { Rlimit, WaitResult } from '../../src/abi/task.js';
import { REPO_ROOT } from '../host/helpers.js';

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** `file: 'import' | 'import type' → module` for every relative import of src/<dir> that lands in src/kernel. */
function kernelImports(dir: string): string[] {
  const src = join(REPO_ROOT, 'src');
  const out: string[] = [];
  for (const f of tsFiles(join(src, dir))) {
    for (const m of readFileSync(f, 'utf8').matchAll(/^(import(?: type)?) [^;]*? from '(\.[^']+)'/gms)) {
      const to = resolve(dirname(f), m[2]!.replace(/\.js$/, '.ts'));
      if (to.startsWith(join(src, 'kernel'))) out.push(`${relative(src, f)}: ${m[1]} ${relative(src, to)}`);
    }
  }
  return out.sort();
}

test('userland imports no kernel file but state.ts for SysResult (program steps), and only as a type', () => {
  const bad = kernelImports('userland').filter((l) => !/: import type kernel\/state\.ts$/.test(l));
  assert.deepEqual(bad, []);
});

test('IPC_STAT, stat, getrlimit and wait4 return exactly the fields of the src/abi records', () => {
  const k = new Kernel();
  const s = k.init.sys;
  const perm: (keyof IpcPermDs)[] = ['key', 'uid', 'gid', 'cuid', 'cgid', 'mode', 'seq'];
  const keys = (o: object): string[] => Object.keys(o).sort();
  const msq = s.msgctl(s.msgget(C.IPC_PRIVATE, C.IPC_CREAT | 0o600), C.IPC_STAT) as MsqidDs;
  const msqFields: (keyof MsqidDs)[] = ['msg_perm', 'msg_stime', 'msg_rtime', 'msg_ctime', 'msg_cbytes', 'msg_qnum', 'msg_qbytes', 'msg_lspid', 'msg_lrpid'];
  assert.deepEqual(keys(msq), [...msqFields].sort());
  assert.deepEqual(keys(msq.msg_perm), [...perm].sort());
  const sem = s.semctl(s.semget(C.IPC_PRIVATE, 1, C.IPC_CREAT | 0o600), 0, C.IPC_STAT) as SemidDs;
  const semFields: (keyof SemidDs)[] = ['sem_perm', 'sem_otime', 'sem_ctime', 'sem_nsems'];
  assert.deepEqual(keys(sem), [...semFields].sort());
  const shm = s.shmctl(s.shmget(C.IPC_PRIVATE, 4096, C.IPC_CREAT | 0o600), C.IPC_STAT) as ShmidDs;
  const shmFields: (keyof ShmidDs)[] = ['shm_perm', 'shm_segsz', 'shm_atime', 'shm_dtime', 'shm_ctime', 'shm_cpid', 'shm_lpid', 'shm_nattch'];
  assert.deepEqual(keys(shm), [...shmFields].sort());
  const st: Stat = s.stat('/');
  assert.equal(keys(st).length, 12);
  const rl: Rlimit = s.getrlimit(C.RLIMIT_NOFILE);
  assert.deepEqual(keys(rl), ['rlim_cur', 'rlim_max']);
  const pid = s.fork();
  k.task(pid)!.sys.exit(3);
  const w: WaitResult = s.wait4(pid, 0);
  assert.deepEqual(w, { pid, status: 3 << 8 });
});
