import { describe, it } from 'node:test';
import { check, type Case } from './helpers.js';

const UTILS: Case[] = [
  { cmd: 'printf "a\\nb\\nc\\n" > /tmp/f; cat /tmp/f - /tmp/f', input: 'IN\n', out: 'a\nb\nc\nIN\na\nb\nc\n' },
  { cmd: 'cat /nope; echo $?', out: '1\n', err: 'cat: /nope: No such file or directory\n' },
  { cmd: 'mkdir -p /tmp/d/e/f; touch /tmp/d/x /tmp/d/y; ls /tmp/d', out: 'e\nx\ny\n' },
  { cmd: 'mkdir /tmp; echo $?', out: '1\n', err: "mkdir: cannot create directory '/tmp': File exists\n" },
  { cmd: 'echo hi > /tmp/h; ls -l /tmp/h /dev/null', out: 'crw-rw-rw- 1 root root 1, 3 Jul  8 11:24 /dev/null\n-rw-r--r-- 1 root root    3 Jul  8 11:24 /tmp/h\n' },
  { cmd: 'ls -la /etc', out: /^total \d+\ndrwxr-xr-x +\d+ root root 4096 Jul  8 11:24 \.\ndrwxr-xr-x +\d+ root root 4096 Jul  8 11:24 \.\.\n-rw-r--r-- +1 root root +27 Jul  8 11:24 group\n/ },
  { cmd: 'mkdir -p /tmp/r/s; touch /tmp/r/s/t; rm /tmp/r; echo $?; rm -r /tmp/r; ls /tmp/r', out: '1\n', err: "rm: cannot remove '/tmp/r': Is a directory\nls: cannot access '/tmp/r': No such file or directory\n", status: 2 },
  { cmd: 'rm -f /nope; echo $?', out: '0\n' },
  { cmd: 'printf "1\\n2\\n3\\n4\\n5\\n" | head -n 2; printf "1\\n2\\n3\\n" | head -2', out: '1\n2\n1\n2\n' },
  { cmd: 'printf "abcdef" | head -c 3; echo', out: 'abc\n' },
  { cmd: 'printf "1\\n2\\n3\\n4\\n" | tail -n 2; printf "1\\n2\\n3\\n" | tail -n +2', out: '3\n4\n2\n3\n' },
  { cmd: 'printf "a b\\nc\\n" > /tmp/w; wc /tmp/w; wc -l < /tmp/w; wc -w /tmp/w /tmp/w', out: '2 3 6 /tmp/w\n2\n 3 /tmp/w\n 3 /tmp/w\n 6 total\n' },
  { cmd: 'printf "x\\n" | wc', out: '      1       1       2\n' },
  { cmd: 'printf "foo\\nbar\\nFoo\\nbaz\\n" > /tmp/g; grep -n o /tmp/g; grep -ci foo /tmp/g; grep -v a /tmp/g', out: '1:foo\n3:Foo\n2\nfoo\nFoo\n' },
  { cmd: 'printf "a.c\\nabc\\n" | grep -F a.c; printf "ab\\naab\\n" | grep "^a\\{2\\}b"; printf "ab\\nac\\n" | grep -E "a(b|x)"', out: 'a.c\naab\nab\n' },
  { cmd: 'grep -q foo /etc/passwd; echo $?; grep root /etc/passwd /etc/group', out: '1\n/etc/passwd:root:x:0:0:root:/root:/bin/sh\n/etc/group:root:x:0:\n' },
  // As GNU grep: -s silences unreadable files, -q does not (and a match still makes the status 0).
  { cmd: 'grep -s root /nope; echo $?; grep -q root /nope /etc/passwd; echo $?', out: '2\n0\n', err: 'grep: /nope: No such file or directory\n' },
  { cmd: 'env -i A=1 B=2; env -i X=y sh -c \'echo $X\'', out: 'A=1\nB=2\ny\n' },
  { cmd: 'env | grep ^HOME=; env -u HOME | grep -c ^HOME=', out: 'HOME=/root\n0\n', status: 1 },
  { cmd: '/bin/echo -n a; /bin/printf "%05d|%-3s|%x|%5.1d\\n" 7 ab 255 3; /bin/test 1 = 1 && /bin/true && ! /bin/false && echo ok', out: 'a00007|ab |ff|    3\nok\n' },
  { cmd: 'printf "%s-%s\\n" a b c; printf "%b\\n" "x\\ty"; printf "%c%c\\n" hello world', out: 'a-b\nc-\nx\ty\nhw\n' },
  { cmd: '[ -d /tmp ] && [ -f /etc/passwd ] && [ ! -e /nope ] && [ -n x -a -z "" ] && test 3 -gt 2 -o 1 -eq 0 && echo yes', out: 'yes\n' },
  { cmd: '[ 1 -eq x ]', err: '[: x: integer expression expected\n', status: 2 },
  { cmd: 'sleep 2 & kill $!; wait $!; echo $?; kill -0 $$; echo alive; kill -l 9; kill -s TERM 99999', out: '143\nalive\nKILL\n', err: 'kill: (99999) - No such process\n', status: 1 },
  { cmd: '/bin/kill -9 $$; echo no', out: '', status: 137 },
  { cmd: '/bin/sleep 1; /bin/sleep x', err: "sleep: invalid time interval 'x'\n", status: 1 },
  { cmd: 'ps -o pid,ppid,pgid,sid,stat,comm; :', out: '    PID    PPID    PGID     SID STAT COMMAND\n      1       0       1       1 Ss   init\n      2       1       2       2 Ss   sh\n      3       2       2       2 R    ps\n' },
  // The fork of `ps` consumes the shell's value: ps sees it UNSET (NSD-SPEC §6).
  { cmd: 'echo "LONG1 5" > /proc/self/task/$$/next_syscall_data; ps -o pid,nsd -p $$', out: '    PID NSD\n      2 UNSET\n' },
  // A shell that armed its value and sleeps in a NOFORK builtin keeps it.
  { cmd: 'sh -c \'echo "LONG1 5" > /proc/self/task/$$/next_syscall_data; sleep 2\' & sleep 1; ps -o pid,nsd -p $!', out: '    PID NSD\n      3 LONG1 5\n' },
  { cmd: 'syscall getpid; syscall kill 1 SIGKILL; syscall nosuch', out: '2\n0\n', err: 'syscall: nosuch: no such system call\n', status: 2 },
  { cmd: 'syscall open /nope O_RDONLY; echo $?', out: '-1 ENOENT (No such file or directory)\n1\n' },
  // A buffer argument is bytes (process_vm_writev refused text with EFAULT); an address above 2^31 is taken whole.
  { cmd: 'syscall mmap 0 4096 3 34 -1 0 > /tmp/a; read a < /tmp/a; syscall process_vm_writev $$ $a hello; syscall process_vm_readv $$ $a 5', out: '5\nhello\n' },
  { cmd: 'syscall msgget 0x10 "IPC_CREAT|0600"; syscall msgsnd 0 1 hello 0; syscall msgrcv 0 100 0 0', out: '0\n0\n{"mtype":1,"mtext":"hello"}\n' },
  { cmd: 'unshare --pid --fork sh -c \'echo $$; ps -o pid,comm\'', out: '1\n    PID COMMAND\n      1 sh\n      2 ps\n' },
  { cmd: 'unshare --ipc sh -c "ipcmk -Q >/dev/null; ipcs -q | grep -c 0x"; ipcs -q | grep -c 0x', out: '1\n0\n', status: 1 },
  { cmd: 'unshare --pid --fork --mount-proc sh -c "sleep 5" & sleep 1; nsenter -t $! --pid --ipc sh -c \'echo $$\'; kill $!', out: /^[0-9]+\n$/ },
  { cmd: 'ipcmk -Q; ipcrm -q 0; ipcrm -q 0; ipcmk -M 1K -p 600; ipcs -m | grep -c " 600 "', out: 'Message queue id: 0\nShared memory id: 0\n1\n', err: 'ipcrm: invalid id (0)\n' },
];

describe('utilities', () => {
  for (const c of UTILS) it(c.cmd, () => check(c));
});

/**
 * Failed writes are reported (issue 9 A9): bash's builtins say `echo: write error: …` and fail;
 * coreutils programs do the same through close_stdout. The central line of the project must not
 * look like success when the kernel refuses the value.
 */
const WRITE_ERRORS: Case[] = [
  // Another task's next_syscall_data: EPERM at write (the file opens: it is the writer that counts).
  { cmd: 'echo "LONG1 5" > /proc/1/task/1/next_syscall_data; echo $?', out: '1\n', err: 'sh: line 1: echo: write error: Operation not permitted\n' },
  { cmd: 'echo "LONG1 x" > /proc/self/task/$$/next_syscall_data; echo $?', out: '1\n', err: 'sh: line 1: echo: write error: Invalid argument\n' },
  { cmd: 'printf "BOGUS 1" > /proc/self/task/$$/next_syscall_data || echo failed', out: 'failed\n', err: 'sh: line 1: printf: write error: Invalid argument\n' },
  { cmd: 'echo hi >&-; echo $?; pwd >&- || echo pwd failed', out: '1\npwd failed\n', err: 'sh: line 1: echo: write error: Bad file descriptor\nsh: line 1: pwd: write error: Bad file descriptor\n' },
  { cmd: 'f() { echo x; }; f >&-; echo $?', out: '1\n', err: 'sh: line 1: echo: write error: Bad file descriptor\n' },
  { cmd: 'sh -c "exec /bin/echo LONG1 x > /proc/self/task/\\$\\$/next_syscall_data"; echo $?', out: '1\n', err: 'echo: write error: Invalid argument\n' },
  { cmd: 'sh -c "exec cat /etc/hostname > /proc/self/task/\\$\\$/next_syscall_data"; echo $?', out: '1\n', err: 'cat: write error: Invalid argument\n' },
  { cmd: 'ls /etc >&-; echo $?; /bin/printf x >&-; echo $?', out: '1\n1\n', err: 'ls: write error: Bad file descriptor\nprintf: write error: Bad file descriptor\n' },
  // A reader that went away: SIGPIPE kills the writer silently, as in Linux; ignored, it is EPIPE.
  { cmd: 'cat /etc/passwd | head -c 3; echo', out: 'roo\n' },
  { cmd: '(sleep 1; echo hi; echo after >&2) | true; echo $?', out: '0\n' },
  { cmd: 'trap "" PIPE; (sleep 1; echo hi) | true; (sleep 1; /bin/echo hi) | true', err: 'sh: line 1: echo: write error: Broken pipe\necho: write error: Broken pipe\n' },
];

describe('utilities: write errors', () => {
  for (const c of WRITE_ERRORS) it(c.cmd, () => check(c));
});

/** Issue 9 D: small things a Linux user would notice. */
const SMALL: Case[] = [
  // test compares intmax_t exactly; beyond 64 bits is not an integer (bash's legal_number).
  { cmd: '[ 9223372036854775807 -gt 9223372036854775806 ] && echo big; [ 99999999999999999999 -gt 1 ]; echo $?', out: 'big\n2\n', err: '[: 99999999999999999999: integer expression expected\n' },
  // printf's integers are intmax_t too; %u %o %x convert to uintmax_t as C does.
  { cmd: 'printf "%d %u %x %X %o|%5d|%-5d|%*d|%05d\\n" 9223372036854775807 -1 -1 255 8 3 3 -4 7 -42; printf "%d\\n" 99999999999999999999 12abc', out: '9223372036854775807 18446744073709551615 ffffffffffffffff FF 10|    3|3    |7   |-0042\n9223372036854775807\n12\n', err: 'printf: 99999999999999999999: Numerical result out of range\nprintf: 12abc: invalid number\n', status: 1 },
  { cmd: 'exec 99999>/tmp/x; echo $?', err: 'sh: line 1: 99999: Bad file descriptor\n', status: 1 },
  { cmd: 'echo x 99999>&1; echo $?', out: '1\n', err: 'sh: line 1: 99999: Bad file descriptor\n' },
  // coreutils sleep takes huge values (and inf, 1e3): it sleeps ~forever, in several nanosleeps.
  { cmd: 'sleep 99999999999999999999 & sleep 1; kill $!; wait $!; echo $?; /bin/sleep inf & sleep 1; kill $!; wait $!; echo $?', out: '143\n143\n' },
  { cmd: 'sleep 1e-3 .5e1 1m; echo $?; sleep 1x', out: '0\n', err: "sleep: invalid time interval '1x'\n", status: 1 },
  // ls -l shows where a symbolic link points (so /proc/PID/fd says which file each fd is).
  { cmd: 'exec 5>/tmp/a; ls -l /proc/$$/fd | grep " 5 "; ls -l /proc/$$/ns/pid', out: /^l\S+ 1 root root 0 Jul {2}8 11:24 5 -> \/tmp\/a\nl\S+ 1 root root 0 Jul {2}8 11:24 \/proc\/2\/ns\/pid -> pid:\[\d+\]\n$/ },
  // The forked child of `sleep 5 &` execs sleep: ps shows `sleep`, as Linux does.
  { cmd: 'sleep 5 & sleep 1; ps -o pid,comm -p $!; kill $!', out: '    PID COMMAND\n      3 sleep\n' },
];

describe('utilities: issue 9 D', () => {
  for (const c of SMALL) it(c.cmd, () => check(c));
});

/** Issue 9 D: the everyday utilities, as coreutils / GNU sed / findutils behave for what they support. */
const EVERYDAY: Case[] = [
  { cmd: 'echo hi | tr a-z A-Z; echo hello | tr -s l; echo hello | tr -d -c "a-l\\n"; echo abc | tr "[:lower:]" "[:upper:]"', out: 'HI\nhelo\nhell\nABC\n' },
  { cmd: 'tr a', err: "tr: missing operand after 'a'\nTwo strings must be given when translating.\nTry 'tr --help' for more information.\n", status: 1 },
  { cmd: 'echo "a  b c" | cut -d" " -f3; echo abcdef | cut -c2-4,6; printf "a:b\\nc\\n" | cut -d: -f2 -s; printf "x\\ty\\n" | cut -f2', out: 'b\nbcdf\nb\ny\n' },
  { cmd: 'cut -f1 -d ab', err: "cut: the delimiter must be a single character\nTry 'cut --help' for more information.\n", status: 1 },
  { cmd: 'printf "one\\ntwo\\nthree\\n" | sed -n 2p; printf "a\\nb\\nc\\n" | sed 2d; echo hello | sed "s/l/L/g;s/o$/0/"; echo aaa | sed s/a/b/2', out: 'two\na\nc\nheLL0\naba\n' },
  { cmd: 'printf "1\\n2\\n3\\n4\\n" | sed -n "2,3p"; printf "x\\ny\\n" | sed "\\$d"; echo ab | sed -E "s/(a)(b)/\\2\\1/"; echo abc | sed "s|b|/|;s/c/&&/"', out: '2\n3\nx\nba\na/cc\n' },
  { cmd: 'printf "1\\n2\\n3\\n" | sed 2q; echo $?; printf "a\\nfoo\\nb\\n" | sed "/foo/!d"; printf "a\\nb" | sed p', out: '1\n2\n0\nfoo\na\na\nb\nb' },
  { cmd: 'echo a | sed "s/a/b/;k"; echo x | sed -i s/x/y/ f', err: "sed: -e expression #1, char 8: unknown command: `k'\nsed: invalid option -- 'i'\nTry 'sed --help' for more information.\n", status: 1 },
  { cmd: 'printf "b 2\\na 10\\nc 1\\n" | sort -k2 -n; printf "b\\na\\nb\\nc\\n" | sort -u; printf "3\\n10\\n2\\n" | sort -nr; printf "b:1\\na:2\\n" | sort -t: -k2,2r', out: 'c 1\nb 2\na 10\na\nb\nc\n10\n3\n2\na:2\nb:1\n' },
  { cmd: 'printf "b\\nb\\na\\n" | uniq -c; printf "a\\na\\nb\\nc\\nc\\n" | uniq -d; printf "a\\nA\\n" | uniq -i -c', out: '      2 b\n      1 a\na\nc\n      2 a\n' },
  { cmd: 'echo x | tee /tmp/t1 /tmp/t2 >/dev/null; echo y | tee -a /tmp/t1; cat /tmp/t1 /tmp/t2; echo z | tee /nodir/f; echo $?', out: 'y\nx\ny\nx\nz\n1\n', err: 'tee: /nodir/f: No such file or directory\n' },
  { cmd: 'seq 3; seq 1 0.5 2; seq -w 8 10; seq -s, 3; seq 5 1; seq -1 0; seq 1e9 | head -2', out: '1\n2\n3\n1.0\n1.5\n2.0\n08\n09\n10\n1,2,3\n-1\n0\n1\n2\n' },
  { cmd: 'seq 1 0 3', err: "seq: invalid Zero increment value: '0'\nTry 'seq --help' for more information.\n", status: 1 },
  { cmd: 'basename /a/b.c .c; basename -a /x/y /z/; dirname /a/b a / //x', out: 'b\ny\nz\n/a\n.\n/\n/\n' },
  { cmd: 'id; id -un; id -G; id nobody; id nosuch', out: 'uid=0(root) gid=0(root) groups=0(root)\nroot\n0\nuid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\n', err: "id: 'nosuch': no such user\n", status: 1 },
  // The model's clock (it starts at 2008-07-08 11:24:23 UTC, the seed's week) and GNU date's formats.
  { cmd: 'date; date +%s; date -u -d @0; date "+%F %T %j %Q"; sleep 60; date +%H:%M', out: 'Tue Jul  8 11:24:23 UTC 2008\n1215516263\nThu Jan  1 00:00:00 UTC 1970\n2008-07-08 11:24:23 190 %Q\n11:25\n' },
  { cmd: 'clear | wc -c; TERM=xterm clear | wc -c; TERM=foo clear', out: '0\n11\n', err: "'foo': unknown terminal type.\n", status: 1 },
  { cmd: 'printf "a b\\n" | xargs -t echo; echo "a \'b c\'" | xargs -n1 echo; printf "1\\n2\\n" | xargs -I{} echo "<{}>"; true | xargs echo none; true | xargs -r echo none', out: 'a b\na\nb c\n<1>\n<2>\nnone\n', err: 'echo a b\n' },
  { cmd: 'echo x | xargs nosuch; echo $?; echo x | xargs sh -c "exit 3"; echo $?; echo "a \'b" | xargs echo', out: '127\n123\na\n', err: 'xargs: nosuch: No such file or directory\nxargs: unmatched single quote; by default quotes are special to xargs unless you use the -0 option\n', status: 1 },
];

describe('utilities: everyday text and process tools', () => {
  for (const c of EVERYDAY) it(c.cmd, () => check(c));
});

/** The same class of defect elsewhere: every write is checked, and nothing is silently cut short. */
const WRITES: Case[] = [
  { cmd: 'echo x | sh -c \'exec tee /tmp/ok /proc/self/task/$$/next_syscall_data\'; echo $?; cat /tmp/ok', out: 'x\n1\nx\n', err: /^tee: \/proc\/self\/task\/\d+\/next_syscall_data: Invalid argument\n$/ },
  { cmd: 'printf "a\\n" | sh -c \'exec uniq - /proc/self/task/$$/next_syscall_data\'; echo $?', out: '1\n', err: 'uniq: write error: Invalid argument\n' },
  // A here-document larger than a pipe's buffer goes through a temporary file, as in bash.
  { cmd: 'cat <<EOF | wc -c\n' + 'a'.repeat(70000) + '\nEOF\nls /tmp', out: '70001\n' },
];

describe('utilities: every write checked', () => {
  for (const c of WRITES) it(c.cmd.slice(0, 80), () => check(c));
});
