#!/usr/bin/env node
// @ts-check
/**
 * Every measured number in README.md and docs/ must be found in the bench/results file it cites. The rule:
 * a line (a table row, a list item or a paragraph's line) that names one or more `bench/results/<file>` is a
 * recorded result; each decimal number on it (`95.6`, `0.25`, `1.1e-6`; whole numbers are counts and
 * parameters and are not checked, nor is anything inside `code spans`, which are commands and parameters) must
 * equal, at the precision written, a number in one of the files it names (or 100 times one: a percentage of a
 * stored fraction). Each row of the README's table of results ("Where the methods stand") cites a
 * bench/results file or says `unrecorded` and how to measure it again.
 *
 *   node bench/check-numbers.js     # exit 1 and one line per number not found
 *
 * Run by test/bench/check-numbers.test.ts in `npm test`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO_ROOT } from './bench-cache.js';

const CITATION = /bench\/results\/[\w.*-]+/g;
const DECIMAL = /(?<![\w.])-?\d+\.\d+(?:e[-+]?\d+)?(?![\w.]*\d)|(?<![\w.])\d+e-\d+(?![\w])/g;

/** Numbers of a results file (any format: JSON, Markdown, JSON lines). @param {string} text */
function numbersIn(text) {
  return [...text.matchAll(/-?\d+(?:\.\d+)?(?:e[-+]?\d+)?/gi)].map((m) => Number(m[0]));
}

/**
 * The files a citation names: `defense-table.*` is both defense-table.json and .md.
 * @param {string} cited
 * @param {string} root
 */
function filesOf(cited, root) {
  const dir = join(root, 'bench', 'results');
  const name = cited.replace(/^bench\/results\//, '').replace(/[.,;:]+$/, '');
  // `x.*` or a bare `x` (as in `--out bench/results/x`) is every file of that stem.
  if (name.endsWith('.*') || name.endsWith('.') || !name.includes('.')) {
    const stem = name.replace(/\.\*?$/, '');
    return readdirSync(dir)
      .filter((f) => f.startsWith(`${stem}.`))
      .map((f) => join(dir, f));
  }
  return [join(dir, name)];
}

/** Whether `written` (as text, e.g. "95.6") equals one of `values` at its written precision. */
function found(/** @type {string} */ written, /** @type {number[]} */ values) {
  const value = Number(written);
  const mantissa = written.split(/e/i)[0] ?? written;
  const decimals = (mantissa.split('.')[1] ?? '').length;
  const exponent = /e/i.test(written) ? Number(written.split(/e/i)[1]) : 0;
  const halfUlp = 0.5 * 10 ** (exponent - decimals) * (1 + 1e-9);
  // A percentage in prose may be a fraction in the file (share 0.979 -> 97.9%); prose may drop a sign.
  return values.some((v) => [v, 100 * v].some((x) => Math.abs(Math.abs(x) - Math.abs(value)) <= halfUlp));
}

/** @returns {string[]} problems, one line each */
export function checkNumbers(root = REPO_ROOT) {
  const docs = [
    join(root, 'README.md'),
    ...readdirSync(join(root, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => join(root, 'docs', f)),
  ];
  const cache = new Map();
  const problems = [];
  for (const doc of docs) {
    const lines = readFileSync(doc, 'utf8').split('\n');
    lines.forEach((line, i) => {
      const where = `${relative(root, doc)}:${i + 1}`;
      const citations = line.match(CITATION) ?? [];
      if (!citations.length) return;
      const files = citations.flatMap((c) => filesOf(c, root));
      const missing = files.filter((f) => !existsSync(f));
      for (const f of missing) problems.push(`${where}: cites ${relative(root, f)}, which does not exist`);
      if (missing.length || !files.length) return;
      const values = files.flatMap((f) => {
        if (!cache.has(f)) cache.set(f, numbersIn(readFileSync(f, 'utf8')));
        return cache.get(f);
      });
      const prose = line.replace(/`[^`]*`/g, ' ');
      for (const m of prose.matchAll(DECIMAL))
        if (!found(m[0], values)) problems.push(`${where}: ${m[0]} is not in ${citations.join(', ')}`);
    });
    if (doc.endsWith('README.md')) {
      const start = lines.findIndex((l) => l.startsWith('### Where the methods stand'));
      for (let i = start + 1; start >= 0 && i < lines.length && !lines[i]?.startsWith('#'); i++) {
        const row = lines[i] ?? '';
        if (!row.startsWith('|') || row.startsWith('| -') || row.startsWith('| what')) continue;
        // A number that is not (or no longer) in bench/results is marked unrecorded, with how to measure it.
        if (!(row.match(CITATION) ?? []).length && !/\bunrecorded\b/.test(row))
          problems.push(`README.md:${i + 1}: a row of results that cites no bench/results file`);
      }
    }
  }
  return problems;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const problems = checkNumbers();
  for (const p of problems) console.log(p);
  if (problems.length) {
    console.log(`${problems.length} number(s) not found in bench/results`);
    process.exit(1);
  }
  console.log('every number that cites bench/results is found there');
}
