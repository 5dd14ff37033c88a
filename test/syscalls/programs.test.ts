/**
 * Programs are per kernel (issue 14 §4): each Kernel has its own program table, filled by
 * `installProgram` (and `Kernel.fromState`'s `programs`); execve looks a program up in its own
 * kernel's table only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel, defineProgram, installUserland, userlandPrograms, constants as C, type Task } from '../../src/index.js';
import { expectErrno, readFile } from '../helpers.js';

/** A program that prints `text` (and its argv[1]) and exits. */
function greeter(text: string) {
  return defineProgram<{ done: boolean }>({
    name: '/bin/greet',
    start: () => ({ done: false }),
    step(p) {
      p.out(`${text} ${p.argv[1] ?? ''}\n`);
      return p.exit(0);
    },
  });
}

function runToFile(k: Kernel, path: string, argv: string[], out: string): Task {
  const t = k.spawn(path, argv, { stdout: out });
  k.run();
  return t;
}

test('two kernels install different programs under one name; each runs its own', () => {
  const a = new Kernel();
  const b = new Kernel();
  const ga = greeter('hello from A');
  const gb = greeter('hello from B');
  a.installProgram(ga);
  b.installProgram(gb);
  assert.equal(a.findProgram('/bin/greet'), ga);
  assert.equal(b.findProgram('/bin/greet'), gb);
  runToFile(a, '/bin/greet', ['greet', 'x'], '/tmp/out');
  runToFile(b, '/bin/greet', ['greet', 'y'], '/tmp/out');
  assert.equal(readFile(a.init, '/tmp/out'), 'hello from A x\n');
  assert.equal(readFile(b.init, '/tmp/out'), 'hello from B y\n');
  // A third kernel has neither: the name means nothing there.
  assert.equal(new Kernel().findProgram('/bin/greet'), undefined);
});

test('another program under a name taken in that kernel is an error naming it; the same one again is not', () => {
  const k = new Kernel();
  const g = greeter('one');
  k.installProgram(g);
  assert.throws(() => k.installProgram(greeter('two')), (e: Error) => e.message.includes('"/bin/greet"') && /taken/.test(e.message));
  // The table is unchanged: the first program still runs.
  runToFile(k, '/bin/greet', ['greet'], '/tmp/out');
  assert.equal(readFile(k.init, '/tmp/out'), 'one \n');
  // The same code again, or at another path, is fine.
  k.installProgram(g);
  k.installProgram(g, '/bin/greet2');
  runToFile(k, '/bin/greet2', ['greet2', 'z'], '/tmp/out2');
  assert.equal(readFile(k.init, '/tmp/out2'), 'one z\n');
  // Something that is not a program is refused by name.
  assert.throws(() => k.installProgram({ name: '/bin/x' } as never), /not a program/);
});

test('execve: ENOENT without a file, ENOEXEC for a file naming a program this kernel does not have', () => {
  const a = new Kernel();
  a.installProgram(greeter('A'));
  const b = new Kernel();
  // Copy A's executable (its bytes name the program) into B, where nothing is installed under it.
  const bytes = readFile(a.init, '/bin/greet');
  const fd = b.init.sys.open('/bin/greet', C.O_WRONLY | C.O_CREAT, 0o755);
  b.init.sys.write(fd, bytes);
  b.init.sys.close(fd);
  expectErrno(() => b.spawn('/bin/greet'), 'ENOEXEC');
  expectErrno(() => b.spawn('/bin/nothing-here'), 'ENOENT');
  // The failed spawns left no child behind.
  expectErrno(() => b.init.sys.wait4(-1, C.WNOHANG), 'ECHILD');
});

interface Relay { got: string }

/** Reads stdin to its end (sleeping in read), then prints what it read in upper case. */
const relay = defineProgram<Relay>({
  name: '/bin/relay',
  start: () => ({ got: '' }),
  step(p) {
    if (p.result !== null) {
      const chunk = p.value<Uint8Array>();
      if (chunk.length === 0) {
        p.out(p.state.got.toUpperCase());
        return p.exit(0);
      }
      p.state.got += new TextDecoder().decode(chunk);
    }
    return p.call('read', 0, 64);
  },
});

test('fromState of a kernel running a user-defined program: refused without its code, identical with it', () => {
  const k = new Kernel();
  installUserland(k);
  k.installProgram(relay);
  for (let fd = 0; fd < 3; fd++) k.init.sys.open('/dev/null', C.O_RDWR);   // init's stdio: the pipe is 3, 4
  const [r, w] = k.init.sys.pipe2(0);
  const pid = k.init.sys.fork();
  const child = k.task(pid)!;
  child.sys.dup2(r, 0);
  child.sys.close(r);
  child.sys.close(w);
  child.sys.dup2(child.sys.open('/tmp/relay.out', C.O_WRONLY | C.O_CREAT, 0o644), 1);
  child.sys.execve('/bin/relay', ['relay']);
  k.init.sys.write(w, 'abc');
  k.run();
  assert.equal(child.status, 'sleeping', 'parked in read, the state names /bin/relay');
  const snap = k.snapshot();

  assert.throws(() => Kernel.fromState(snap), (e: Error) => e.message.includes('"/bin/relay"') && e.message.includes(`task ${pid}`));
  assert.throws(() => Kernel.fromState(snap, { programs: userlandPrograms() }), /\/bin\/relay/);

  const k2 = Kernel.fromState(snap, { programs: [...userlandPrograms(), relay] });
  assert.equal(k2.findProgram('/bin/relay'), relay);
  for (const kk of [k, k2]) {
    kk.init.sys.write(w, 'def');
    kk.init.sys.close(w);
    kk.run();
    assert.equal(kk.task(pid)!.exit?.code, 0);
    assert.equal(readFile(kk.init, '/tmp/relay.out'), 'ABCDEF');
  }
  // The resumed kernel's table is its own: installing another relay there leaves k alone.
  assert.throws(() => k2.installProgram({ ...relay }), /taken/);
  assert.equal(k.findProgram('/bin/relay'), relay);
});
