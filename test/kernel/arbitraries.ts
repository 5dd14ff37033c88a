/**
 * fast-check generators shared by the property tests (test/kernel/bad-input.test.ts,
 * test/kernel/nsd.test.ts) and the fuzzing campaigns (fuzz/campaigns/syscalls.ts, nsd.ts).
 */
import fc from 'fast-check';

/** One syscall argument of any shape: small and edge integers, paths, strings, odd values, records. */
export const syscallArg: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: -3, max: 70 }),
  fc.constantFrom(-1, 0, 1, 2, 0x7fffffff, -0x80000000, 2 ** 32, 2 ** 40, 1e300, NaN, 0.5, -100),
  fc.constantFrom('/', '/proc/self/task/1/next_syscall_data', '/tmp', '/dev/null', '/dev/zero', '', 'x', '/proc/1/status', '../..'),
  fc.string({ maxLength: 12 }),
  fc.constantFrom(undefined, null, true, {}, [], [1, 2], ['a'], new Uint8Array(3), 5n, -1n),
  fc.record({ flags: fc.integer({ min: 0, max: 0x7fffffff }), exit_signal: fc.integer({ min: -1, max: 70 }) }),
);

/** One word of a next_syscall_data line: headers, numbers in every base and sign, garbage. */
export const nsdWord: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('LONG', 'LONG1', 'LONG2', 'LONG0', 'RESET', 'LONG32', 'LONG33', 'LONG1x', 'LONG-1', 'LONG0x2', 'LONG02', 'RESETx', '-', '0x', '08'),
  fc.integer({ min: -5, max: 40 }).map(String),
  fc.bigInt({ min: -(1n << 70n), max: 1n << 70n }).map((b) => (b < 0n ? '-0x' + (-b).toString(16) : b.toString())),
  fc.bigInt({ min: 0n, max: 1n << 66n }).map((b) => '0' + b.toString(8)),
  fc.string({ maxLength: 6 }),
);

/** A whole write to next_syscall_data: word lists (with odd separators), strings or raw bytes. */
export const nsdWriteInput: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  // Well-formed: LONG<n> and n values (any base and sign), optionally a trailing newline.
  {
    weight: 4,
    arbitrary: fc.integer({ min: 0, max: 33 }).chain((n) =>
      fc.tuple(fc.array(nsdWord.filter((w) => /^-?(0x)?[0-9a-f]+$/i.test(w)), { minLength: n, maxLength: n }), fc.constantFrom('', '\n', ' extra'))
        .map(([vs, tail]) => `LONG${n} ${vs.join(' ')}${tail}`)),
  },
  fc.array(nsdWord, { maxLength: 6 }).map((ws) => ws.join(' ')),
  fc.tuple(fc.array(nsdWord, { maxLength: 6 }), fc.constantFrom('\n', '\t', '  ', '\0', '\r\n', ' ')).map(([ws, sep]) => ws.join(' ') + sep),
  fc.tuple(fc.constantFrom('LONG1 ', 'LONG2 ', 'RESET'), fc.integer({ min: 4000, max: 4200 })).map(([h, n]) => h + '7'.repeat(n)),
  fc.string({ maxLength: 64 }),
  fc.uint8Array({ maxLength: 64 }),
);
