/**
 * Demo workloads: a SysV message-queue producer and consumer. They are also the documented
 * example of writing a program (docs/shell.md, README): a state machine whose `pc` names the next
 * thing to do, direct calls for what cannot sleep, yielded calls for what can.
 *
 *   mq-producer KEY [COUNT [SECONDS]]   sends "message N" every SECONDS (COUNT 0: forever)
 *   mq-consumer KEY [COUNT]             receives and prints COUNT messages (0: forever)
 */
import { IPC_CREAT } from '../../abi/constants.js';
import { strerror } from '../../abi/errno.js';
import type { MsgBuf } from '../../abi/ipc.js';
import { parseNumber } from '../lib/args.js';
import { defineUserlandProgram, toText, type Proc } from '../lib/program.js';

/** msgget(key, IPC_CREAT|0600) as a direct call; -1 after reporting the error. */
function openQueue<S>(p: Proc<S>, prog: string, key: number): number {
  const r = p.attempt(() => p.sys.msgget(key, IPC_CREAT | 0o600));
  if (r.ok) return r.value;
  p.err(`${prog}: msgget: ${strerror(r.code)}\n`);
  return -1;
}

interface ProducerState {
  pc: 'open' | 'send' | 'sent' | 'slept';
  key: number;
  count: number;
  delayNs: number;
  qid: number;
  n: number;
}

export const mqProducer = defineUserlandProgram<ProducerState>({
  name: '/bin/mq-producer',
  start: ({ argv }) => ({
    pc: 'open',
    key: parseNumber(argv[1] ?? '0x1234'),
    count: Number(argv[2] ?? 10),
    delayNs: Number(argv[3] ?? 1) * 1e9,
    qid: -1,
    n: 0,
  }),
  step(p) {
    const s = p.state;
    switch (s.pc) {
      case 'open':
        // msgget never sleeps: a direct call.
        s.qid = openQueue(p, 'mq-producer', s.key);
        if (s.qid < 0) return p.exit(1);
        s.pc = 'send';
        return;
      case 'send':
        if (s.count > 0 && s.n >= s.count) return p.exit(0);
        s.n++;
        s.pc = 'sent';
        // msgsnd sleeps while the queue is full: yield it; the result comes at the next step.
        return p.call('msgsnd', s.qid, 1, `message ${s.n}`, 0);
      case 'sent':
        if (!p.ok) {
          p.err(`mq-producer: msgsnd: ${strerror(p.errno!)}\n`);
          return p.exit(1);
        }
        p.out(`sent message ${s.n}\n`);
        s.pc = 'slept';
        return p.call('nanosleep', s.delayNs);
      case 'slept':
        s.pc = 'send';
        return;
    }
  },
});

interface ConsumerState {
  pc: 'open' | 'receive' | 'received';
  key: number;
  count: number;
  qid: number;
  n: number;
}

export const mqConsumer = defineUserlandProgram<ConsumerState>({
  name: '/bin/mq-consumer',
  start: ({ argv }) => ({ pc: 'open', key: parseNumber(argv[1] ?? '0x1234'), count: Number(argv[2] ?? 10), qid: -1, n: 0 }),
  step(p) {
    const s = p.state;
    switch (s.pc) {
      case 'open':
        // msgget never sleeps: a direct call.
        s.qid = openQueue(p, 'mq-consumer', s.key);
        if (s.qid < 0) return p.exit(1);
        s.pc = 'receive';
        return;
      case 'receive':
        if (s.count > 0 && s.n >= s.count) return p.exit(0);
        s.pc = 'received';
        return p.call('msgrcv', s.qid, 8192, 0, 0);
      case 'received': {
        if (!p.ok) {
          if (p.errno === 'EINTR') {
            s.pc = 'receive';
            return;
          }
          p.err(`mq-consumer: msgrcv: ${strerror(p.errno!)}\n`);
          return p.exit(1);
        }
        const m = p.value<MsgBuf>();
        s.n++;
        p.out(`received: ${toText(m.mtext)}\n`);
        s.pc = 'receive';
        return;
      }
    }
  },
});
