import { describe, it } from 'node:test';
import { check, type Case } from './helpers.js';

const GRAMMAR: Case[] = [
  { cmd: 'echo hello world', out: 'hello world\n' },
  { cmd: "echo 'a  b' \"c  d\" e\\ f", out: 'a  b c  d e f\n' },
  { cmd: 'echo "a\\"b" \'it\'\\\'\'s\'', out: 'a"b it\'s\n' },
  { cmd: 'x=1; y="$x 2"; echo "$y" ${y} ${#y}', out: '1 2 1 2 3\n' },
  { cmd: 'echo ${u:-def} ${u-def2} ${u:=set} $u ${u:+alt} ${v+no}', out: 'def def2 set set alt\n' },
  { cmd: 'f=/a/b/c.txt; echo ${f##*/} ${f%.*} ${f#/*/} ${f%%/*}x', out: 'c.txt /a/b/c b/c.txt x\n' },
  { cmd: 'echo ${nope:?is unset}; echo after', out: '', err: 'sh: line 1: nope: is unset\n', status: 1 },
  { cmd: 'echo $((1+2*3)) $((7/2)) $((7%3)) $((1<<4)) $((2>1 && 3)) $(( (1+2)*3 ))', out: '7 3 1 16 1 9\n' },
  { cmd: 'i=3; : $((i+=2)); echo $i $((i*i))', out: '5 25\n' },
  { cmd: 'n=3000000000; echo $((-3000000000)) $((-n)) $((- -5))', out: '-3000000000 -3000000000 5\n' },
  { cmd: 'set -- a "b c" d; echo $#; for x in "$@"; do echo "[$x]"; done', out: '3\n[a]\n[b c]\n[d]\n' },
  { cmd: 'set -- a b; echo "$*" $1 $2 ${3:-none}; shift; echo $1 $#', out: 'a b a b none\nb 1\n' },
  { cmd: 'true; echo $?; false; echo $?; ! true; echo $?', out: '0\n1\n1\n' },
  { cmd: 'true && echo a || echo b; false && echo c || echo d', out: 'a\nd\n' },
  { cmd: 'echo a; echo b; echo c', out: 'a\nb\nc\n' },
  { cmd: '# a comment\necho x # trailing\n#end', out: 'x\n' },
  { cmd: 'if false; then echo 1; elif true; then echo 2; else echo 3; fi', out: '2\n' },
  { cmd: 'if false; then echo 1; fi; echo $?', out: '0\n' },
  { cmd: 'i=0; while [ $i -lt 3 ]; do echo $i; i=$((i+1)); done', out: '0\n1\n2\n' },
  { cmd: 'i=0; until [ $i -ge 2 ]; do i=$((i+1)); done; echo $i', out: '2\n' },
  { cmd: 'for i in 1 2 3 4; do [ $i = 2 ] && continue; [ $i = 4 ] && break; echo $i; done', out: '1\n3\n' },
  { cmd: 'for i in 1 2; do for j in a b; do [ $j = b ] && continue 2; echo $i$j; done; done', out: '1a\n2a\n' },
  { cmd: 'for w in x y; do echo $w; done; echo $w', out: 'x\ny\ny\n' },
  { cmd: 'case foo.c in *.h) echo h;; *.c|*.cc) echo c;; *) echo other;; esac', out: 'c\n' },
  { cmd: 'case "a b" in "a b") echo q;; esac; case x in [a-z]) echo range;; esac; case X in [!a-z]) echo neg;; esac', out: 'q\nrange\nneg\n' },
  { cmd: 'f() { echo "f:$1:$#"; return 4; }; f a b; echo $?', out: 'f:a:2\n4\n' },
  { cmd: 'g() { local_x=$1; }; g v; echo $local_x; set -- top; g inner; echo $1', out: 'v\ntop\n' },
  { cmd: 'fact() { if [ $1 -le 1 ]; then echo 1; else echo $(( $1 * $(fact $(($1-1))) )); fi; }; fact 5', out: '120\n' },
  { cmd: 'echo $(echo a $(echo b)) `echo c`', out: 'a b c\n' },
  { cmd: 'x=$(printf "1\\n2\\n\\n"); echo "[$x]"', out: '[1\n2]\n' },
  { cmd: 'x=$(exit 3); echo $?', out: '3\n' },
  { cmd: '{ echo a; echo b; } | wc -l', out: '2\n' },
  { cmd: '(cd /tmp; pwd); pwd', out: '/tmp\n/\n' },
  { cmd: '(exit 7); echo $?', out: '7\n' },
  { cmd: 'x=1; (x=2); echo $x', out: '1\n' },
  { cmd: 'echo one | cat | cat', out: 'one\n' },
  { cmd: 'printf "b\\na\\nb\\n" | grep -c b', out: '2\n' },
  { cmd: 'false | true; echo $?; true | false; echo $?', out: '0\n1\n' },
  { cmd: '! false | false; echo $?', out: '0\n' },
  { cmd: 'echo hi > /tmp/x; cat < /tmp/x; echo more >> /tmp/x; cat /tmp/x', out: 'hi\nhi\nmore\n' },
  { cmd: 'ls /nonexistent 2>/dev/null; echo $?', out: '2\n' },
  { cmd: 'ls /nonexistent 2>&1 | cat', out: "ls: cannot access '/nonexistent': No such file or directory\n" },
  { cmd: 'echo err >&2', out: '', err: 'err\n' },
  { cmd: 'exec 3>/tmp/fd3; echo via3 >&3; exec 3>&-; cat /tmp/fd3', out: 'via3\n' },
  { cmd: 'echo in > /tmp/i; exec 4</tmp/i; read line <&4; echo "got $line"', out: 'got in\n' },
  { cmd: 'cat <<EOF\nhello $USER\n  indented\nEOF\necho after', out: 'hello root\n  indented\nafter\n' },
  { cmd: "cat <<'EOF'\nno $expansion\nEOF", out: 'no $expansion\n' },
  { cmd: 'cat <<-EOF\n\tstripped\n\tEOF', out: 'stripped\n' },
  { cmd: 'echo a > /tmp/g1; echo b > /tmp/g2; echo /tmp/g*; echo /tmp/nomatch*', out: '/tmp/g1 /tmp/g2\n/tmp/nomatch*\n' },
  { cmd: 'mkdir -p /tmp/gd/d1 /tmp/gd/d2; touch /tmp/gd/f; cd /tmp/gd; echo */; echo /tmp/gd/*/ /tmp/gd/f*/', out: 'd1/ d2/\n/tmp/gd/d1/ /tmp/gd/d2/ /tmp/gd/f*/\n' },
  { cmd: 'cd /etc; echo *; echo "*"', out: 'group hostname passwd\n*\n' },
  { cmd: 'echo ~ ~/x "~"', out: '/root /root/x ~\n' },
  { cmd: 'sleep 1 & pid=$!; wait $pid; echo "waited $?"', out: 'waited 0\n' },
  { cmd: 'sh -c "exit 5" & wait $!; echo $?', out: '5\n' },
  { cmd: '(sleep 1; echo late) & echo early; wait', out: 'early\nlate\n' },
  { cmd: 'read a b <<EOF\none two three\nEOF\necho "$a|$b"', out: 'one|two three\n' },
  { cmd: 'printf "x y\\n" | { read -r a b; echo $b$a; }', out: 'yx\n' },
  { cmd: 'IFS=:; x=a:b:c; for i in $x; do echo $i; done', out: 'a\nb\nc\n' },
  { cmd: 'x="a   b"; for i in $x; do echo "<$i>"; done; for i in "$x"; do echo "<$i>"; done', out: '<a>\n<b>\n<a   b>\n' },
  { cmd: 'eval "y=5; echo \\$y"', out: '5\n' },
  { cmd: 'echo "echo sourced \\$1" > /tmp/s.sh; . /tmp/s.sh', out: 'sourced\n' },
  { cmd: 'trap "echo bye" EXIT; echo hi', out: 'hi\nbye\n' },
  { cmd: 'trap "echo got USR1" USR1; kill -USR1 $$; echo after', out: 'got USR1\nafter\n' },
  { cmd: 'trap "" TERM; kill $$; echo survived', out: 'survived\n' },
  { cmd: 'trap; trap "echo x" INT; trap', out: "trap -- 'echo x' INT\n" },
  { cmd: 'exit 3; echo no', out: '', status: 3 },
  { cmd: 'exit', out: '', status: 0 },
  { cmd: 'false; exit', status: 1 },
  { cmd: 'export FOO=bar; sh -c "echo \\$FOO"; BAZ=q env | grep BAZ', out: 'bar\nBAZ=q\n' },
  { cmd: 'X=1 sh -c "echo \\$X"; echo "[$X]"', out: '1\n[]\n' },
  { cmd: 'PATH=/nowhere; ls', err: 'sh: line 1: ls: command not found\n', status: 127 },
  { cmd: 'set -x; echo traced', out: 'traced\n', err: '+ echo traced\n' },
  { cmd: 'echo $0; sh -c \'echo $0 $1\' name arg', out: 'sh\nname arg\n' },
];

const ERRORS: Case[] = [
  { cmd: 'nosuch', err: 'sh: line 1: nosuch: command not found\n', status: 127 },
  { cmd: 'echo a\nnosuch\necho b', out: 'a\nb\n', err: 'sh: line 2: nosuch: command not found\n' },
  { cmd: '/etc/passwd', err: 'sh: line 1: /etc/passwd: Permission denied\n', status: 126 },
  { cmd: 'echo a\nif true; then\nfi', out: 'a\n', err: "sh: line 3: syntax error near unexpected token `fi'\n", status: 2 },
  { cmd: 'echo "unterminated', err: /unexpected EOF while looking for matching/, status: 2 },
  { cmd: 'if true; then echo x', err: 'sh: line 1: syntax error: unexpected end of file\n', status: 2 },
  { cmd: 'cat < /nonexistent; echo $?', out: '1\n', err: 'sh: line 1: /nonexistent: No such file or directory\n' },
  { cmd: 'echo x > /nodir/f; echo $?', out: '1\n', err: 'sh: line 1: /nodir/f: No such file or directory\n' },
  { cmd: 'cd /nonexistent', err: 'sh: line 1: cd: /nonexistent: No such file or directory\n', status: 1 },
  { cmd: 'exit foo', err: 'sh: line 1: exit: foo: numeric argument required\n', status: 2 },
  { cmd: 'return 1', err: "sh: line 1: return: can only `return' from a function or sourced script\n", status: 1 },
  { cmd: 'echo $((1/0))', err: 'sh: line 1: 1/0: division by 0\n', status: 1 },
  { cmd: 'sh -c "kill -9 \\$\\$"; echo $?', out: '137\n' },
];

describe('sh: grammar, expansions, redirections, control flow', () => {
  for (const c of GRAMMAR) it(c.cmd.replace(/\n/g, '⏎'), () => check(c));
});

describe('sh: errors and exit statuses', () => {
  for (const c of ERRORS) it(c.cmd.replace(/\n/g, '⏎'), () => check(c));
});

/** Issue 9 B16 and D: limits a process has, and 64-bit arithmetic as bash's. */
const nest = (open: string, mid: string, close: string, n: number) => open.repeat(n) + mid + close.repeat(n);
const LIMITS: Case[] = [
  // Runaway recursion: SIGSEGV (status 139), as bash on an 8 MiB stack; a trap cannot stop it.
  { cmd: 'f() { f; }; f; echo after', status: 139 },
  { cmd: 'sh -c "trap \'\' SEGV; f() { f; }; f"; echo $?', out: '139\n' },
  { cmd: 's=\'eval "$s"\'; eval "$s"', status: 139 },
  { cmd: 'x=a; while :; do x=$x$x; done', err: 'sh: memory exhausted\n', status: 2 },
  // The parser is depth-limited: a clear syntax error, status 2 — never the host's stack.
  { cmd: nest('(', 'echo x', ')', 2000), err: 'sh: line 1: syntax error: nesting too deep (more than 200 levels)\n', status: 2 },
  { cmd: nest('if true; then ', 'echo x; ', 'fi; ', 2000), err: 'sh: line 1: syntax error: nesting too deep (more than 200 levels)\n', status: 2 },
  { cmd: 'echo ' + nest('"$(', 'echo x', ')"', 2000), err: 'sh: line 1: syntax error: nesting too deep (more than 200 levels)\n', status: 2 },
  { cmd: nest('( ', 'echo deep', ' )', 90) + '; ' + nest('{ ', 'echo braces; ', '} ', 90), out: 'deep\nbraces\n' },
  { cmd: 'echo $((' + nest('(', '1', ')', 2000) + '))', err: /^sh: line 1: \(+: expression recursion level exceeded \(error token is "\("\)\n$/, status: 1 },
  { cmd: 'echo $((' + nest('(', '7', ')', 300) + '))', out: '7\n' },
  { cmd: 'a=a; echo $((a))', err: 'sh: line 1: a: expression recursion level exceeded (error token is "a")\n', status: 1 },
  // 64-bit two's complement, as bash's intmax_t.
  { cmd: 'echo $((1<<40)) $((9223372036854775807+1)) $((-9223372036854775808/-1)) $((-9223372036854775808%-1)) $((1<<64))', out: '1099511627776 -9223372036854775808 -9223372036854775808 0 1\n' },
  { cmd: 'echo $((99999999999999999999)) $((2**63)) $((3**40)) $((2#101)) $((16#ff)) $((64#@_)) $((0x1F)) $((010))', out: '7766279631452241919 -9223372036854775808 -6289078614652622815 5 255 4031 31 8\n' },
  { cmd: 'echo $((1e+40))', err: 'sh: line 1: 1e: value too great for base (error token is "1e")\n', status: 1 },
  { cmd: 'echo $((08))', err: 'sh: line 1: 08: value too great for base (error token is "08")\n', status: 1 },
  { cmd: 'echo $((2**-1))', err: 'sh: line 1: 2**-1: exponent less than 0 (error token is "-1")\n', status: 1 },
  // && || ?: skip the side they do not need (bash's noeval).
  { cmd: 'echo $((0 && (x=5))) $((1 || (y=5))) $((1 ? 2 : (z=3))) "[$x$y$z]"; echo $((x=2, x*3)) $x', out: '0 1 2 []\n6 2\n' },
];

describe('sh: limits and 64-bit arithmetic', () => {
  for (const c of LIMITS) it(c.cmd.slice(0, 80).replace(/\n/g, '⏎'), () => check(c));
});
