/**
 * Loads every utility (each file defines its programs at import). echo, printf, test/[, true and
 * false also exist as programs, for `env echo …`, `xargs`-less scripts and `exec echo`.
 */
import { defineApplet } from '../lib/applet.js';
import { echo, printf, test } from './text.js';
import './files.js';
import './filters.js';
import './textproc.js';
import './misc.js';
import './xargs.js';
import './procs.js';
import './syscall.js';
import './ipcs.js';

defineApplet('/bin/echo', echo);
defineApplet('/bin/printf', printf);
defineApplet('/bin/test', test, 2);
defineApplet('/bin/[', test, 2);
defineApplet('/bin/true', () => 0);
defineApplet('/bin/false', () => 1);
