/**
 * Every ```ts example of README.md and docs/*.md that imports 'next-syscall-data' type-checks and
 * runs as written against the built package: the blocks are written to a temporary directory
 * whose node_modules/next-syscall-data links to this package (so the import goes through
 * package.json "exports" and the .d.ts files, as for a user), checked with the TypeScript compiler,
 * transpiled and run with node. A block that must not (a fragment) simply does not import the
 * package. Also: every export of the package is documented where it is declared.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import ts from 'typescript';

const root = process.cwd();
const SOURCES = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];

interface Example {
  name: string;
  code: string;
}

function examples(): Example[] {
  const out: Example[] = [];
  for (const src of SOURCES) {
    const text = readFileSync(join(root, src), 'utf8');
    let i = 0;
    for (const m of text.matchAll(/```ts\n([\s\S]*?)```/g)) {
      i++;
      if (!/from 'next-syscall-data'/.test(m[1]!)) continue;
      const line = text.slice(0, m.index).split('\n').length;
      out.push({ name: `${src.replace(/[/.]/g, '_')}_${i}_line${line}`, code: m[1]! });
    }
  }
  return out;
}

test('docs examples that import next-syscall-data type-check and run against the built package', () => {
  const list = examples();
  assert.ok(list.length >= 5, `found only ${list.length} examples`);
  assert.ok(list.some((e) => e.name.startsWith('docs_api_md')), 'docs/api.md has runnable examples');
  const dir = mkdtempSync(join(tmpdir(), 'nsd-doc-examples-'));
  try {
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(root, join(dir, 'node_modules', 'next-syscall-data'), 'dir');
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    const files = list.map((e) => {
      const f = join(dir, `${e.name}.ts`);
      // A module of its own even without exports (top-level names do not clash between examples).
      writeFileSync(f, `${e.code}\nexport {};\n`);
      return f;
    });
    const program = ts.createProgram(files, {
      target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true, noEmit: true, skipLibCheck: true, lib: ['lib.es2022.d.ts'], types: ['node'], typeRoots: [join(root, 'node_modules', '@types')],
    });
    const diags = ts.getPreEmitDiagnostics(program).map((d) => {
      const where = d.file ? `${d.file.fileName.slice(dir.length + 1)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}` : '';
      return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
    assert.deepEqual(diags, [], 'the examples type-check against the package');
    for (const [i, e] of list.entries()) {
      const js = ts.transpileModule(readFileSync(files[i]!, 'utf8'), { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
      const f = join(dir, `${e.name}.mjs`);
      writeFileSync(f, js);
      const r = spawnSync(process.execPath, [f], { encoding: 'utf8', cwd: dir });
      assert.equal(r.status, 0, `example ${e.name} failed:\n${r.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every export of the package has a doc comment where it is declared', () => {
  const index = join(root, 'src', 'index.ts');
  const program = ts.createProgram([index], { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true, skipLibCheck: true, types: [] });
  const checker = program.getTypeChecker();
  const mod = checker.getSymbolAtLocation(program.getSourceFile(index)!)!;
  const undocumented: string[] = [];
  for (const e of checker.getExportsOfModule(mod)) {
    const s = e.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(e) : e;
    if (s.flags & ts.SymbolFlags.ValueModule) {
      // `export * as constants`: the module's own leading comment documents it.
      const file = s.declarations?.[0]?.getSourceFile();
      if (file && /^\/\*\*/.test(file.text.trimStart())) continue;
    }
    if (ts.displayPartsToString(s.getDocumentationComment(checker)).trim() === '') undocumented.push(e.name);
  }
  assert.deepEqual(undocumented, []);
});
