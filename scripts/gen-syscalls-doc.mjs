#!/usr/bin/env node
// Writes docs/syscalls.md from the syscall table (run `npx tsc -p tsconfig.json` first).
// test/syscalls/docs.test.ts fails when the file is not what this writes.
import { writeFileSync } from 'node:fs';
import { syscallsMarkdown } from '../dist/src/syscalls/support.js';

writeFileSync(new URL('../docs/syscalls.md', import.meta.url), syscallsMarkdown());
console.log('wrote docs/syscalls.md');
