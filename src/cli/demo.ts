/**
 * `nsd demo`: next_syscall_data presetting a pid and an fd, through the model's shell, with the
 * hazard of NSD-SPEC §6 made visible. (The checkpoint/restart demo will replace it.)
 */
export const DEMO_SCRIPT = `
nsd=/proc/self/task/$$/next_syscall_data
echo "# The shell is pid $$. Its next_syscall_data reads: $(cat /proc/$$/task/$$/next_syscall_data)"
echo
echo '# 1. Preset a pid: arm the value, then start an external command (the fork consumes it).'
echo '$ echo "LONG1 4242" > $nsd; sh -c '"'"'echo child pid: $$'"'"
echo "LONG1 4242" > $nsd; sh -c 'echo child pid: $$'
echo
echo '# 2. Preset an fd: arm the value, then open() from the shell itself (syscall is a NOFORK builtin).'
echo '$ echo "LONG1 42" > $nsd; syscall open /etc/passwd O_RDONLY'
echo "LONG1 42" > $nsd; syscall open /etc/passwd O_RDONLY
ls -l /proc/$$/fd
echo
echo '# 3. The hazard: the redirection opens the file before echo arms it, so nothing is consumed;'
echo '#    but reading the file back is an open() too, and it takes the armed value.'
echo '$ echo "LONG1 7" > $nsd; syscall open $nsd O_RDONLY'
echo "LONG1 7" > $nsd; syscall open $nsd O_RDONLY
echo "# now: $(cat /proc/$$/task/$$/next_syscall_data)"
`;
