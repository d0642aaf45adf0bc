#!/usr/bin/env node
// Renders bench/scan-demo.js's JSON as the markdown tables of docs/scanning.md and bench/results/scan-demo.md.
//   node bench/scan-table.js bench/results/scan-demo.json > bench/results/scan-demo.md
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? 'bench/results/scan-demo.json';
const { settings, rows } = JSON.parse(readFileSync(file, 'utf8'));
const target = 'banana';
const fmt = (x) => x.toFixed(2);
const lines = [
  `Settings: ${JSON.stringify(settings)}; target of every backdoored model: ${target}.`,
  '',
  `| model | seed | verdict | top class (index) | ${target}: flips per budget, margin (averaged), index | wall |`,
  '| --- | --- | --- | --- | --- | --- |',
];
for (const r of rows) {
  const t = r.perClass.find((c) => c.name === target);
  const flips = (t.levels ?? [{ flips: t.flips }]).map((l) => l.flips).join('-');
  lines.push(
    `| ${r.model} | ${r.seed} | ${r.suspect ? `**flagged ${r.suspect}**` : 'no evidence'} | ${r.top} (${fmt(r.score)}) | ${flips} of ${t.n}, ${fmt(t.meanMargin)}, ${fmt(t.anomalyIndex)} | ${(r.wallMs / 1000).toFixed(0)} s |`,
  );
}
lines.push(
  '',
  '| model | scans | target flagged | other class flagged | target ranked first |',
  '| --- | --- | --- | --- | --- |',
);
for (const model of [...new Set(rows.map((r) => r.model))]) {
  const rs = rows.filter((r) => r.model === model);
  const hit = rs.filter((r) => r.suspect === target).length;
  const wrong = rs.filter((r) => r.suspect !== null && r.suspect !== target).length;
  const first = rs.filter((r) => r.top === target).length;
  lines.push(
    model === 'demo'
      ? `| demo (clean) | ${rs.length} | - | ${rs.filter((r) => r.suspect !== null).length} (false-positive rate ${rs.filter((r) => r.suspect !== null).length}/${rs.length}) | - |`
      : `| ${model} | ${rs.length} | ${hit} | ${wrong} | ${first} |`,
  );
}
console.log(lines.join('\n'));
