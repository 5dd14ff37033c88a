/**
 * The in-model `cr` tool, driven through the model's shell: dump, restore with each strategy,
 * show, check, the privileged nsd_cr syscall, failures that leave the container running or the
 * kernel unchanged, and --ipc-only of the real CRIU dump.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrnoError } from '../../src/abi/errno.js';
import { CLONE_NEWIPC, CLONE_NEWPID, SIGCHLD } from '../../src/abi/constants.js';
import { Kernel } from '../../src/index.js';
import { installCr } from '../../src/cr/tool.js';
import { STRATEGIES } from '../../src/cr/index.js';
import { Session } from '../../src/cli/session.js';
import { copyIn, parseBind } from '../../src/cli/bind.js';
import { DUMP_DIR, DUMP_SKIP, readState } from './image/fixtures.js';

interface Run {
  status: number;
  stdout: string;
  stderr: string;
  session: Session;
}

function sh(script: string, binds: string[] = []): Run {
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  const session = new Session({ stdout: (b) => out.push(b.slice()), stderr: (b) => err.push(b.slice()) });
  for (const b of binds) copyIn(session.kernel, parseBind(b));
  session.start(['/bin/sh', '-c', script]);
  const status = session.runToEnd();
  const text = (c: Uint8Array[]) => Buffer.concat(c).toString('utf8');
  return { status, stdout: text(out), stderr: text(err), session };
}

/** A container (unshare --pid --ipc --fork) with a producer and a consumer on a queue. */
const START = `
unshare --pid --ipc --fork sh -c "mq-producer 0x1234 5 1 & mq-consumer 0x1234 5; wait" &
sleep 2
c=$(cat /proc/$!/task/$!/children)
`;

const TAIL = 'received: message 3\nsent message 3\nreceived: message 4\nsent message 4\nreceived: message 5\nsent message 5\n';

test('cr dump writes CRIU-framed images and kills the tree; cr restore brings it back with each strategy', () => {
  const r = sh(`${START}
cr dump -t $c -D /img || exit 9
ls /img
kill -0 $c 2>/dev/null && echo still-running
for s in ${STRATEGIES.join(' ')}; do echo "== $s"; cr restore -D /img --strategy $s; echo "status $?"; done
`);
  assert.equal(r.status, 0, r.stderr);
  for (const f of ['inventory.img', 'pstree.img', 'ids-1.img', 'ipcns-var-1.img', 'ipcns-msg-1.img', 'ipcns-sem-1.img', 'ipcns-shm-1.img', 'nsd-extra.img']) {
    assert.match(r.stdout, new RegExp(`^${f.replace('.', '\\.')}$`, 'm'));
  }
  assert.doesNotMatch(r.stdout, /still-running/);
  for (const s of STRATEGIES) assert.ok(r.stdout.includes(`== ${s}\n${TAIL}status 0\n`), `${s}:\n${r.stdout}`);
  // mainline cannot put the queue's times and last pids back, and says so.
  assert.match(r.stderr, /cr: mainline: \d+ saved fields could not be restored/);
});

test('cr restore -d detaches (pidfile), -v lists what mainline lost; --leave-running keeps the tree', () => {
  const r = sh(`${START}
cr dump -t $c -D /img --leave-running -v
kill -0 $c && echo still-running
cr restore -D /img -s mainline -d -v --pidfile /pid
p=$(cat /pid)
echo "restored $p"
ps -o pid,ppid,args
wait $!
`);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^Dumped pid \d+: 3 processes, 3 threads, \d+ images in \/img \(left running\)$/m);
  assert.match(r.stdout, /^still-running$/m);
  const pid = /^restored (\d+)$/m.exec(r.stdout)![1];
  assert.match(r.stdout, new RegExp(`^\\s+${pid}\\s+1 sh -c mq-producer`, 'm'), 'the detached init is adopted by init');
  assert.match(r.stderr, /cr: not restored: msg 0 lspid: saved \d+, restored 0 \(mainline has no way to set it\)/);
});

test('cr show decodes a file and a directory; cr check lists strategies and features', () => {
  const r = sh(`${START}
cr dump -t $c -D /img
cr show /img/pstree.img > /pstree.json && cat /pstree.json
cr show /img > /all.json && echo all-ok
cr check
`);
  assert.equal(r.status, 0, r.stderr);
  const pstree = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'), r.stdout.indexOf('all-ok'))) as { magic: string; entries: { pid: number }[] };
  assert.equal(pstree.magic, 'PSTREE');
  assert.deepEqual(pstree.entries.map((e) => e.pid), [1, 2, 3]);
  for (const s of STRATEGIES) assert.match(r.stdout, new RegExp(`^Strategy ${s}\\s+supported$`, 'm'));
  assert.match(r.stdout, /^Feature  clone3 set_tid\s+yes/m);
  // The syscall list comes from the syscall table (docs/syscalls.md).
  assert.match(r.stdout, /^Syscall  clone3\s+supported$/m);
  assert.match(r.stdout, /^Syscall  clone_with_id\s+the model's own: /m);
  assert.match(r.stdout, /^Looks good\.$/m);
});

test('cr check on linux-2.6.26 says mainline is unavailable', () => {
  const k = new Kernel({ profile: 'linux-2.6.26' });
  installCr(k);
  const c = k.init.sys.nsd_cr('check');
  assert.equal(c.profile, 'linux-2.6.26');
  assert.equal(c.strategies.nsd, null);
  assert.match(c.strategies.mainline ?? '', /neither clone3 set_tid nor ns_last_pid/);
});

test('a failing dump (bad pid, unwritable directory, own tree) says why and leaves the container running', () => {
  const r = sh(`${START}
cr dump -t 999 -D /img; echo "status $?"
cr dump -t $c -D /proc/nope; echo "status $?"
cr dump -t $$ -D /img; echo "status $?"
cr dump -D /img; echo "status $?"
wait $!
echo "container status $?"
`);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /^cr: dump: dump failed at find-tree \(pid 999\): no such process; the tree keeps running$/m);
  assert.match(r.stderr, /^cr: dump: can't create images directory \/proc\/nope: /m);
  assert.match(r.stderr, /^cr: dump: dump failed at find-tree \(pid \d+\): the dumping process is inside the tree; the tree keeps running$/m);
  assert.match(r.stderr, /^cr: dump: a tree to dump is required \(-t PID\)$/m);
  assert.equal(r.stdout.match(/^status 1$/gm)?.length, 4);
  // The container was never disturbed: it finishes its five messages.
  assert.ok(r.stdout.includes(TAIL), r.stdout);
  assert.match(r.stdout, /^container status 0$/m);
});

test('a corrupt or truncated image directory is refused, naming the image, and nothing is restored', () => {
  const r = sh(`${START}
cr dump -t $c -D /img
before=$(ls /proc | wc -l)
echo garbage > /img/pstree.img
cr restore -D /img; echo "status $?"
after=$(ls /proc | wc -l)
[ "$before" = "$after" ] && echo same-processes
cr restore -D /empty; echo "status $?"
mkdir /empty; cr restore -D /empty; echo "status $?"
cr show /img/pstree.img; echo "status $?"
`);
  assert.match(r.stderr, /^cr: restore: images failed at read-images \(pstree\.img\): .*; nothing was restored$/m);
  assert.match(r.stderr, /^cr: restore: can't read images directory \/empty: /m);
  assert.match(r.stderr, /^cr: restore: no images \(\*\.img\) in \/empty$/m);
  assert.match(r.stderr, /^cr: show: \/img\/pstree\.img: /m);
  assert.equal(r.stdout.match(/^status 1$/gm)?.length, 4, r.stdout);
  assert.match(r.stdout, /^same-processes$/m);
});

test('nsd_cr needs CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN; restore and dump report engine errors as errno + message', () => {
  const k = new Kernel();
  installCr(k);
  const pid = k.init.sys.clone(CLONE_NEWPID | CLONE_NEWIPC | SIGCHLD);
  const child = k.task(pid)!;
  child.sys.capset(0n, 0n);
  assert.throws(() => child.sys.nsd_cr('dump', { pid: 1 }), (e: unknown) => e instanceof ErrnoError && e.code === 'EPERM');
  assert.throws(() => child.sys.nsd_cr('restore', { images: [] }), (e: unknown) => e instanceof ErrnoError && e.code === 'EPERM');
  assert.throws(
    () => k.init.sys.nsd_cr('restore', { images: [['pstree.img', new Uint8Array([1, 2, 3])]] }),
    (e: unknown) => e instanceof ErrnoError && e.code === 'EINVAL' && /no checkpoint: neither nsd-extra\.img nor inventory\.img/.test(e.message),
  );
  assert.throws(() => k.init.sys.nsd_cr('restore', { images: [], strategy: 'magic' }), /unknown strategy 'magic'/);
  assert.equal(k.init.sys.stat('/sbin/cr').st_size > 0, true);
});

test('cr restore --ipc-only recreates the IPC namespace of the real CRIU dump and lists what its images lack', { skip: DUMP_SKIP }, () => {
  const r = sh(`
cr show /criu > /dev/null && echo show-ok
cr restore --ipc-only -D /criu -d --pidfile /pid
nsenter -t $(cat /pid) --ipc ipcs -q
nsenter -t $(cat /pid) --ipc ipcs -s
`, [`${DUMP_DIR}:/criu`]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^show-ok$/m);
  assert.match(r.stdout, /^IPC namespace restored \(nsd\), held by pid \d+$/m);
  assert.match(r.stdout, /^Images: a CRIU dump \(no nsd-manifest\.json\): its CRIU images carry no checksum/m);
  assert.match(r.stdout, /^ {2}msg: stime, rtime, ctime, lspid, lrpid$/m);
  assert.match(r.stdout, /^ {2}SEM_UNDO adjustments of every process$/m);
  const state = readState();
  for (const line of state.filter((l) => l.kind === 'msg')) {
    const key = `0x${Number(line.fields.key).toString(16).padStart(8, '0')}`;
    assert.match(r.stdout, new RegExp(`^${key} +${line.id} `, 'm'), `queue ${line.id} (${key})`);
  }
  assert.ok(state.some((l) => l.kind === 'sem'));
  for (const line of state.filter((l) => l.kind === 'sem')) assert.match(r.stdout, new RegExp(`^0x[0-9a-f]{8} +${line.id} `, 'm'), `sem ${line.id}`);
});

test('cr dump replaces the images of an earlier dump (manifest last); cr restore refuses an image not in the manifest', () => {
  const r = sh(`${START}
mkdir /img && echo junk > /img/ids-99.img && echo keep > /img/notes.txt
cr dump -t $c -D /img --leave-running || exit 9
ls /img
cr restore -D /img -d --pidfile /pid && echo restored-clean
kill -9 $(cat /pid)
cat /img/ids-1.img > /img/ids-77.img
cr restore -D /img -d || echo refused-extra
rm /img/ids-77.img /img/nsd-extra.img
cr restore -D /img -d || echo refused-missing
kill -9 $c
`);
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /^ids-99\.img$/m);
  assert.match(r.stdout, /^notes\.txt$/m, 'files that are not images are left alone');
  assert.match(r.stdout, /^nsd-manifest\.json$/m);
  assert.match(r.stdout, /^restored-clean$/m);
  assert.match(r.stdout, /^refused-extra$/m);
  assert.match(r.stderr, /ids-77\.img.*not in the manifest/);
  assert.match(r.stdout, /^refused-missing$/m);
  assert.match(r.stderr, /nsd-extra\.img.*missing \(the manifest lists it/);
});

test('a container whose init holds dup\'d fds (exec 3>&1; exec 6>&5) is restored with the descriptions shared (issue 9 B12)', () => {
  for (const s of STRATEGIES) {
    const r = sh(`
unshare --pid --ipc --fork sh -c 'exec 3>&1; exec 5>/tmp/a; exec 6>&5; echo one >&6; sleep 3; echo two >&5; echo three >&3; cat /tmp/a' &
sleep 1
c=$(cat /proc/$!/task/$!/children)
cr dump -t $c -D /img || exit 9
cr restore -D /img --strategy ${s}
`);
    assert.equal(r.status, 0, `${s}: ${r.stderr}`);
    assert.equal(r.stdout, 'three\none\ntwo\n', s);
  }
});
