/**
 * What every `nsd` program starts from: its name, description, version and parsing rules (the
 * whole program, program.ts, and the host-only one main.ts builds for `nsd host`).
 */
import { Command } from 'commander';
import { readFileSync } from 'node:fs';

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return '0.0.0';
  }
}

export function baseProgram(): Command {
  return new Command()
    .name('nsd')
    .description('A Linux kernel model with the 2008 next_syscall_data checkpoint/restart interface')
    .version(version(), '-V, --version')
    .enablePositionalOptions()
    .showHelpAfterError();
}
