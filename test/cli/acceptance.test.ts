/**
 * The acceptance list, run exactly as a new user would: the built CLI, spawned with node.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CLI = 'dist/src/cli/main.js';

function nsd(args: string[], input = ''): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { input, encoding: 'utf8', timeout: 20000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('acceptance (nsd sh -c)', () => {
  it('ipcmk -Q after arming next_syscall_data creates queue 4242', () => {
    const r = nsd(['sh', '-c', 'echo "LONG1 4242" > /proc/self/task/$$/next_syscall_data; ipcmk -Q']);
    assert.equal(r.stdout, 'Message queue id: 4242\n');
    assert.equal(r.status, 0);
  });

  it('the same line followed by an external command presets its pid', () => {
    const r = nsd(['sh', '-c', 'echo "LONG1 777" > /proc/self/task/$$/next_syscall_data; sh -c "echo \\$\\$"']);
    assert.equal(r.stdout, '777\n');
  });

  it('cat of the file prints UNSET', () => {
    const r = nsd(['sh', '-c', 'cat /proc/self/task/$$/next_syscall_data']);
    assert.equal(r.stdout, 'UNSET\n');
  });

  it('syscall open after arming prints the preset fd', () => {
    const r = nsd(['sh', '-c', 'echo "LONG1 9" > /proc/self/task/$$/next_syscall_data; syscall open /dev/null O_RDONLY']);
    assert.equal(r.stdout, '9\n');
  });

  it('ipcs shows the three objects in util-linux layout', () => {
    const r = nsd(['sh', '-c', 'ipcmk -Q; ipcmk -S 3; ipcmk -M 4096; ipcs']);
    const lines = r.stdout.split('\n');
    assert.deepEqual(lines.slice(0, 3), ['Message queue id: 0', 'Semaphore id: 0', 'Shared memory id: 0']);
    const rest = lines.slice(3).join('\n');
    assert.match(rest, /^\n------ Message Queues --------\nkey        msqid      owner      perms      used-bytes   messages    \n0x[0-9a-f]{8} 0          root       644        0            0           \n\n/);
    assert.match(rest, /------ Shared Memory Segments --------\nkey        shmid      owner      perms      bytes      nattch     status      \n0x[0-9a-f]{8} 0          root       644        4096       0                       \n\n/);
    assert.match(rest, /------ Semaphore Arrays --------\nkey        semid      owner      perms      nsems     \n0x[0-9a-f]{8} 0          root       644        3         \n\n$/);
  });
});

describe('nsd command', () => {
  it('exit status is the script\'s; stdout and stderr are the host\'s', () => {
    const r = nsd(['sh', '-c', 'echo out; echo err >&2; exit 7']);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    assert.equal(r.status, 7);
  });

  it('-c with $0 and arguments', () => {
    assert.equal(nsd(['sh', '-c', 'echo $0 $1 $#', 'name', 'a1']).stdout, 'name a1 1\n');
  });

  it('reads host stdin through the console', () => {
    assert.equal(nsd(['sh', '-c', 'wc -l; cat'], 'a\nb\n').stdout, '2\n');
    assert.equal(nsd(['sh'], 'echo from stdin; exit 4\n').status, 4);
  });

  it('runs a script from --bind with arguments, and writes files back to the host', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsd-bind-'));
    try {
      writeFileSync(join(dir, 's.sh'), 'echo "args: $*"\necho made > /mnt/out.txt\nrm /mnt/gone.txt\nnosuch\nexit 3\n');
      writeFileSync(join(dir, 'gone.txt'), 'x');
      const r = nsd(['sh', '--bind', `${dir}:/mnt`, '/mnt/s.sh', 'x', 'y']);
      assert.equal(r.stdout, 'args: x y\n');
      assert.equal(r.stderr, 'sh: line 4: nosuch: command not found\n');
      assert.equal(r.status, 3);
      assert.equal(readFileSync(join(dir, 'out.txt'), 'utf8'), 'made\n');
      assert.equal(existsSync(join(dir, 'gone.txt')), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a missing script: 127', () => {
    const r = nsd(['sh', '/nope.sh']);
    assert.equal(r.status, 127);
    assert.equal(r.stderr, 'sh: /nope.sh: No such file or directory\n');
  });

  it('--trace prints strace-like lines', () => {
    const r = nsd(['sh', '--trace', '-c', 'syscall msgget 0x1234 "IPC_CREAT|0600"']);
    assert.equal(r.stdout, '0\n');
    assert.match(r.stderr, /^\[pid 2\] msgget\(0x1234, IPC_CREAT\|0600\) = 0$/m);
  });

  it('--profile linux-2.6.26 and --seed are accepted', () => {
    assert.equal(nsd(['sh', '--profile', 'linux-2.6.26', '--seed', '7', '-c', 'cat /proc/sys/kernel/osrelease']).stdout.startsWith('2.6.26'), true);
    assert.notEqual(nsd(['sh', '--profile', 'linux-9', '-c', 'true']).status, 0);
  });

  it('--version, --help, sh --help, demo', () => {
    assert.match(nsd(['--version']).stdout, /^\d+\.\d+\.\d+\n$/);
    assert.match(nsd(['--help']).stdout, /Commands:[\s\S]*sh \[options\]/);
    assert.match(nsd(['sh', '--help']).stdout, /--profile <name>[\s\S]*--bind[\s\S]*--seed[\s\S]*--trace/);
    const shellDemo = nsd(['demo', '--shell']);
    assert.equal(shellDemo.status, 0);
    assert.match(shellDemo.stdout, /child pid: 4242/);
    // `nsd demo` (npm start) is the checkpoint/restart demo: every strategy's restored run matches.
    const demo = nsd(['demo']);
    assert.equal(demo.status, 0, demo.stderr);
    assert.match(demo.stdout, /\nnsd +OK\nwith-id +OK\nmainline +OK\n/);
    // The checkpoint/restart demo boots its own kernels: the session options are refused, not ignored.
    const traced = nsd(['demo', '--trace', '--seed', '3']);
    assert.equal(traced.status, 2);
    assert.equal(traced.stderr, 'nsd demo: --seed, --trace can only be used with --shell\n');
    assert.match(nsd(['--help']).stdout, /dump[\s\S]*restore[\s\S]*show[\s\S]*check/);
  });

  it('nsd host … runs the host-only program (main.ts programFor): the same name, version, help and errors', () => {
    assert.match(nsd(['--help']).stdout, /\n  host\b/);
    const help = nsd(['host', '--help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /^Usage: nsd host \[options\] \[command\][\s\S]*dump \[options\][\s\S]*restore \[options\] \[cmd\.\.\.\][\s\S]*check/);
    assert.match(nsd(['-V', 'host']).stdout, /^\d+\.\d+\.\d+\n$/);
    const bad = nsd(['host', 'nosuch']);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /unknown command 'nosuch'/);
  });
});

describe('nsd and a reader that goes away', () => {
  it('nsd sh … | head: ends with status 141 (SIGPIPE) and no stack trace', () => {
    const r = spawnSync('bash', ['-c', `node ${CLI} sh -c 'i=0; while [ $i -lt 20000 ]; do echo line $i; i=$((i+1)); done' | head -2; echo "status \${PIPESTATUS[0]}" >&2`], { encoding: 'utf8', timeout: 60000 });
    assert.equal(r.stdout, 'line 0\nline 1\n');
    assert.equal(r.stderr, 'status 141\n');
  });
});
