/**
 * The printed table: one row per figure, grouped by section, plain text (also valid Markdown).
 */
import type { TableRow } from './types.js';

const HEADERS = ['section', 'benchmark', 'model', 'native', 'ratio / growth', 'target', 'verdict'];

function cells(r: TableRow): string[] {
  return [r.section, r.name, r.model, r.native, r.ratio, r.target, r.verdict === 'n/a' ? '' : r.verdict];
}

/** Renders rows as a Markdown table with aligned columns. */
export function renderTable(rows: readonly TableRow[]): string {
  const all = [HEADERS, ...rows.map(cells)];
  const widths = HEADERS.map((_, i) => Math.max(...all.map((c) => [...c[i]!].length)));
  const line = (c: string[]) => `| ${c.map((x, i) => x + ' '.repeat(widths[i]! - [...x].length)).join(' | ')} |`;
  const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  return [line(HEADERS), rule, ...all.slice(1).map(line)].join('\n');
}
