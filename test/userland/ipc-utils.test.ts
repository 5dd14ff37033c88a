/**
 * The IPC parts of the shell utilities: `syscall msgsnd/msgrcv` carry 64-bit message types exactly,
 * `syscall semop` refuses an unknown sem_flg name (and takes known ones), `ipcs -i ID` pads its time
 * fields as util-linux does (`%-26.24s`), and `ipcs --human` prints sizes in human units.
 */
import { describe, it } from 'node:test';
import { check, type Case } from './helpers.js';

const NOT_SET = 'Not set'.padEnd(26);

const CASES: Case[] = [
  {
    cmd: 'syscall msgget 0x10 "IPC_CREAT|0600"; syscall msgsnd 0 9223372036854775807 max 0; syscall msgsnd 0 0x20000000000001 big 0; '
      + 'syscall msgsnd 0 9007199254740992 p53 0; syscall msgrcv 0 100 9007199254740993 0; syscall msgrcv 0 100 -9223372036854775807 0; syscall msgrcv 0 100 0 0',
    out: '0\n0\n0\n0\n{"mtype":"9007199254740993","mtext":"big"}\n{"mtype":"9007199254740992","mtext":"p53"}\n{"mtype":"9223372036854775807","mtext":"max"}\n',
  },
  { cmd: 'syscall msgget 0 0600; syscall msgsnd 0 9223372036854775808 x 0', out: '0\n-1 EINVAL (Invalid argument)\n', status: 1 },
  {
    cmd: 'syscall semget 0 1 "IPC_CREAT|0600"; syscall semop 0 \'[{"sem_num":0,"sem_op":1,"sem_flg":"SEM_UNDO|IPC_NOWAIT"}]\'; '
      + 'syscall semop 0 \'[{"sem_num":0,"sem_op":1,"sem_flg":"SEM_UNDOO"}]\'; echo $?; syscall semctl 0 0 GETVAL',
    out: '0\n0\n2\n1\n',
    err: 'syscall: SEM_UNDOO: not a number or a known name\n',
  },
  {
    cmd: 'ipcmk -Q >/dev/null; ipcs -q -i 0',
    out: new RegExp(`\\nsend_time=${NOT_SET}\\nrcv_time=${NOT_SET}\\nchange_time=\\w{3} \\w{3} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d \\d{4}  \\n\\n$`),
  },
  {
    cmd: 'ipcmk -M 4096 >/dev/null; ipcs -m -i 0',
    out: new RegExp(`^\\nShared memory Segment shmid=0\\nuid=0\\tgid=0\\tcuid=0\\tcgid=0\\nmode=0644\\taccess_perms=0644\\nbytes=4096\\tlpid=0\\tcpid=\\d+\\tnattch=0\\natt_time=${NOT_SET}\\ndet_time=${NOT_SET}\\nchange_time=.{24}  \\n\\n$`),
  },
  {
    cmd: 'ipcmk -S 2 >/dev/null; ipcs -s -i 0',
    out: new RegExp(`\\nnsems = 2\\notime = ${NOT_SET}\\nctime = .{24}  \\nsemnum     value      ncount     zcount     pid       \\n0          0          0          0          0         \\n`),
  },
  {
    // util-linux: the size column is `%6s` of size_to_human_string then 4 spaces.
    cmd: 'ipcmk -M 1536K -p 600 >/dev/null; ipcmk -M 100 -p 600 >/dev/null; ipcs -m --human',
    out: /^\n------ Shared Memory Segments --------\nkey        shmid      owner      perms      size       nattch     status      \n0x[0-9a-f]{8} 0          root       600          1\.5M     0                       \n0x[0-9a-f]{8} 1          root       600          100B     0                       \n\n$/,
  },
  { cmd: 'ipcmk -M 4096 >/dev/null; ipcs -m -i 0 --human | grep size=', out: /^size=4K\tlpid=0\tcpid=\d+\tnattch=0\n$/ },
  { cmd: 'ipcs -m -l -b; ipcs -q -u --human', out: '\n------ Shared Memory Limits --------\nmax number of segments = 4096\nmax seg size (bytes) = 18446744073692774399\nmax total shared memory (bytes) = 18446744073709547520\nmin seg size (bytes) = 1\n\n\n------ Messages Status --------\nallocated queues = 0\nused headers = 0\nused space = 0B\n\n' },
  { cmd: 'ipcs -q -l --human; ipcs -m -l --human', out: '\n------ Messages Limits --------\nmax queues system wide = 32000\nmax size of message = 8K\ndefault max size of queue = 16K\n\n\n------ Shared Memory Limits --------\nmax number of segments = 4096\nmax seg size = 16E\nmax total shared memory = 16E\nmin seg size = 1B\n\n' },
];

describe('IPC utilities', () => {
  for (const c of CASES) it(c.cmd, () => check(c));
});
