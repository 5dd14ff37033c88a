/**
 * The conformance result format (test/conformance/README.md): parsing the harness's result
 * lines into structured results, printing structured results back as lines (so a model-side
 * interpreter can produce the very same text), and normalising host-dependent fields.
 */

/** The result of one script operation. */
export interface NativeResult {
  /** The op's 0-based index in the script. */
  index: number;
  /** The op name as printed (`msgget`, …; `child:semop` for a child op). */
  op: string;
  /** Return value on success (shmat: 0, the address is obs.addr). After normalise() it may be a marker string. */
  ret?: number | string;
  /** Linux errno name on failure (`EINVAL`). */
  errno?: string;
  /** Observations: `a.b=v` becomes `{ a: { b: v } }`. */
  obs?: Record<string, unknown>;
  /** A script error (the harness did not understand the line). */
  error?: string;
}

/** The harness's header line. */
export interface RunMeta {
  pid: number;
  base: number;
  pagesize: number;
  shmlba: number;
  /** The harness's effective capability mask (CapEff, hex). */
  caps: string;
}

/** Bytes as the harness prints them: printable ASCII except space, `"`, `\` as is; others `\xHH`. */
export function encodeBytes(bytes: Uint8Array | string): string {
  const b = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
  let out = '"';
  for (const c of b) {
    out += c > 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return out + '"';
}

/** The inverse of encodeBytes, as a latin1 string (one char per byte). */
export function decodeBytes(text: string): string {
  if (!text.startsWith('"') || !text.endsWith('"') || text.length < 2) throw new Error(`bad bytes ${text}`);
  return text.slice(1, -1).replace(/\\x([0-9a-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** A scalar: hex (0x) and octal (0o) become numbers; decimals become numbers when they are safe integers, else stay strings. */
function parseScalar(text: string): unknown {
  if (text.startsWith('"')) return decodeBytes(text);
  if (/^0x[0-9a-f]+$/i.test(text)) return parseInt(text.slice(2), 16);
  if (/^0o[0-7]+$/.test(text)) return parseInt(text.slice(2), 8);
  if (/^-?[0-9]+$/.test(text)) {
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : text;
  }
  return text;
}

function parseObsValue(text: string): unknown {
  if (text.startsWith('[') && text.endsWith(']')) {
    const inner = text.slice(1, -1);
    return inner === '' ? [] : inner.split(',').map(parseScalar);
  }
  return parseScalar(text);
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    const next = cur[p];
    if (typeof next === 'object' && next !== null && !Array.isArray(next)) cur = next as Record<string, unknown>;
    else cur = cur[p] = {};
  }
  cur[parts[parts.length - 1]!] = value;
}

/** Parses one result line (`<index> <op> <ret|-ERRNO|!> [key=value …]`). */
export function parseResultLine(line: string): NativeResult {
  const m = /^(\d+) (\S+) (.*)$/.exec(line);
  if (!m) throw new Error(`bad result line: ${line}`);
  const index = Number(m[1]);
  const op = m[2]!;
  const rest = m[3]!;
  if (rest.startsWith('! ') || rest === '!') return { index, op, error: rest.slice(2) };
  const [head, ...fields] = rest.split(' ');
  const r: NativeResult = { index, op };
  if (/^-E[A-Z0-9]+$/.test(head!)) r.errno = head!.slice(1);
  else if (/^-?[0-9]+$/.test(head!)) r.ret = Number(head);
  else throw new Error(`bad result value in: ${line}`);
  if (fields.length > 0) {
    const obs: Record<string, unknown> = {};
    for (const f of fields) {
      const eq = f.indexOf('=');
      if (eq <= 0) throw new Error(`bad observation '${f}' in: ${line}`);
      setPath(obs, f.slice(0, eq), parseObsValue(f.slice(eq + 1)));
    }
    r.obs = obs;
  }
  return r;
}

/** Observations that are byte strings (printed `"…"`); every other string prints bare. */
const BYTES_KEYS: ReadonlySet<string> = new Set(['mtext', 'data']);

function formatScalar(key: string, v: unknown): string {
  if (typeof v === 'number' && Number.isInteger(v)) {
    if (key === 'key' || key.endsWith('.key')) return `0x${(v >>> 0).toString(16).padStart(8, '0')}`;
    if (key === 'mode' || key.endsWith('.mode')) return `0o${v.toString(8)}`;
    return String(v);
  }
  if (BYTES_KEYS.has(key) && (typeof v === 'string' || v instanceof Uint8Array)) return encodeBytes(v);
  if (typeof v === 'string') return v;
  throw new Error(`cannot format observation ${key}=${String(v)}`);
}

function flatten(prefix: string, v: unknown, out: string[]): void {
  if (Array.isArray(v)) {
    out.push(`${prefix}=[${v.map((x) => formatScalar(prefix, x)).join(',')}]`);
  } else if (typeof v === 'object' && v !== null && !(v instanceof Uint8Array)) {
    for (const [k, x] of Object.entries(v)) flatten(prefix ? `${prefix}.${k}` : k, x, out);
  } else {
    out.push(`${prefix}=${formatScalar(prefix, v)}`);
  }
}

/** Prints a result as the harness would (the inverse of parseResultLine). */
export function formatResult(r: NativeResult): string {
  if (r.error !== undefined) return `${r.index} ${r.op} ! ${r.error}`;
  const head = r.errno !== undefined ? `-${r.errno}` : String(r.ret);
  const fields: string[] = [];
  if (r.obs) flatten('', r.obs, fields);
  return [String(r.index), r.op, head, ...fields].join(' ');
}

/** Parses the harness's whole stdout: the header, the result lines and the end line. */
export function parseOutput(stdout: string): { meta: RunMeta; results: NativeResult[]; end?: { ops: number; errors: number } } {
  const meta: RunMeta = { pid: 0, base: 0, pagesize: 0, shmlba: 0, caps: '' };
  const results: NativeResult[] = [];
  let end: { ops: number; errors: number } | undefined;
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    const h = /^# ipc-harness pid=(\d+) base=0x([0-9a-f]+) pagesize=(\d+) shmlba=(\d+) caps=(\S+)$/.exec(line);
    if (h) {
      Object.assign(meta, { pid: Number(h[1]), base: parseInt(h[2]!, 16), pagesize: Number(h[3]), shmlba: Number(h[4]), caps: h[5]! });
      continue;
    }
    const e = /^# end ops=(\d+) errors=(\d+)$/.exec(line);
    if (e) {
      end = { ops: Number(e[1]), errors: Number(e[2]) };
      continue;
    }
    results.push(parseResultLine(line));
  }
  return end ? { meta, results, end } : { meta, results };
}

/**
 * Replaces the host-dependent fields, and nothing else:
 * - wall-clock times (observation keys ending in `time`): nonzero → `"T"`, 0 stays 0;
 * - pids (observation keys ending in `pid`, and `child`): the harness's pid → `"PID"`, the pid of
 *   the child forked for op N → `"CHILD@N"`; a GETPID return value (its `sempid` observation)
 *   is replaced the same way. Other pids (0, or any unknown pid) stay as they are.
 * `pid` is the harness's (or the model task's) pid; runNative results carry it in `.meta`.
 */
export function normalise(results: readonly NativeResult[], pid?: number): NativeResult[] {
  const ownPid = pid ?? (results as readonly NativeResult[] & { meta?: RunMeta }).meta?.pid;
  const children = new Map<number, string>();
  for (const r of results) {
    const c = r.obs?.['child'];
    if (typeof c === 'number') children.set(c, `CHILD@${r.index}`);
  }
  const pidMark = (v: unknown): unknown => {
    if (typeof v !== 'number') return v;
    if (v === ownPid) return 'PID';
    return children.get(v) ?? v;
  };
  const walk = (o: Record<string, unknown>): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) {
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) out[k] = walk(v as Record<string, unknown>);
      else if (k.endsWith('time')) out[k] = typeof v === 'number' && v !== 0 ? 'T' : v;
      else if (k.endsWith('pid') || k === 'child') out[k] = pidMark(v);
      else out[k] = v;
    }
    return out;
  };
  return results.map((r) => {
    const n: NativeResult = { ...r };
    if (r.obs) {
      n.obs = walk(r.obs);
      if ('sempid' in r.obs && r.ret === r.obs['sempid']) n.ret = pidMark(r.ret) as number | string;
    }
    return n;
  });
}
