/**
 * The syscall list generated from the table (src/syscalls/table.ts): `cr check` / `nsd check`
 * print it for the kernel's profile, and docs/syscalls.md is this module's `syscallsMarkdown()`
 * (written by `node scripts/gen-syscalls-doc.mjs`; a test checks the file is up to date).
 */
import type { ProfileName } from '../kernel/profile.js';
import { PROFILES } from '../kernel/profile.js';
import { TABLE, supportIn, type Support, type SyscallEntry } from './table.js';

/** One syscall's support in a profile, as `cr check` reports it. */
export interface SyscallSupport {
  name: string;
  level: Support['level'];
  /** What is missing (partial), why it fails (none), what it is (model); '' when full. */
  why: string;
}

/** Every syscall of the table with its support in `profile`, in table order. */
export function syscallSupport(profile: ProfileName): SyscallSupport[] {
  return Object.entries(TABLE).map(([name, e]) => {
    return { name, ...toSupport(supportIn(e as SyscallEntry, profile)) };
  });
}

const LEVEL: Record<Support['level'], string> = {
  full: 'supported',
  partial: 'partially supported',
  none: 'not supported (ENOSYS)',
  model: 'the model\'s own',
};

/** One line of `cr check`'s list. */
export function formatSyscallSupport(s: SyscallSupport): string {
  return `${LEVEL[s.level]}${s.why ? `: ${s.why}` : ''}`;
}

/** docs/syscalls.md. */
export function syscallsMarkdown(): string {
  const profiles = Object.keys(PROFILES) as ProfileName[];
  const rows = Object.entries(TABLE).map(([name, e0]) => {
    const e = e0 as SyscallEntry;
    const args = e.args.length === 0 ? '' : e.args.join(', ');
    const cells = profiles.map((p) => formatSyscallSupport({ name, ...toSupport(supportIn(e, p)) }).replace(/\|/g, '\\|'));
    return `| \`${name}\` | ${args} | ${e.ret} | ${e.control ? 'yes' : ''} | ${cells.join(' | ')} |`;
  });
  return [
    '# System calls',
    '',
    '<!-- Generated from src/syscalls/table.ts by `node scripts/gen-syscalls-doc.mjs` (after `npx tsc`); do not edit. -->',
    '',
    'Every system call of the model, in the order of its table (src/syscalls/table.ts), with the',
    'argument and result kinds the strace-like trace prints and the `syscall` utility parses, whether',
    'only the scheduler may run it (a program yields it: `{ call: name, args }`), and how much of',
    'Linux\'s call each kernel profile implements (gVisor\'s vocabulary: supported, partially supported',
    'with what is missing). "The model\'s own" marks calls that are not Linux\'s: the 2008 RFC\'s',
    'with-id calls and `nsd_cr`. `cr check` (and `nsd check`) print the same list for their profile.',
    '',
    `| syscall | arguments | result | yielded | ${profiles.join(' | ')} |`,
    `|---|---|---|---|${profiles.map(() => '---').join('|')}|`,
    ...rows,
    '',
  ].join('\n');
}

function toSupport(s: Support): { level: Support['level']; why: string } {
  return { level: s.level, why: s.level === 'full' ? '' : s.why };
}
