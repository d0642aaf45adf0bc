#!/usr/bin/env node
// @ts-check
/**
 * The attacks of docs/attacks.md on the built-in demo (demo model and dataset, target banana, seed 1, each
 * attack's demo defaults): one `vetbench attack` per attack into .vetbench-cache/demo-attacks (an attack whose
 * model is already there is not run again), then CA / ASR / asr_all / PA before and after from the report it
 * wrote, in bench/results/attacks-demo.{json,md} (rows of other attacks already there are kept).
 *
 *   npm run build && nice -n 10 node bench/attacks-demo.js --attacks label-consistent,trojvqa
 *
 * Each attack takes 10-45 min on 2 shared cores. Plain ESM JavaScript: it runs the CLI in dist/.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEMO_ATTACKS_DIR, ensureDemoAttack, REPO_ROOT } from './bench-cache.js';

const ALL = 'blended,sig,wanet,badnet,label-consistent,badclip-de,trojvqa,badclip-prompt';
const { values: args } = parseArgs({
  options: {
    attacks: { type: 'string', default: ALL },
    out: { type: 'string', default: join(REPO_ROOT, 'bench', 'results', 'attacks-demo') },
  },
});

/** @param {Record<string, number>} m */
const metrics = (m) => ({ ca: m.ca, asr: m.asr, asr_all: m.asr_all, pa: m.pa, n_poisoned: m.n_poisoned });

const previous = existsSync(`${args.out}.json`)
  ? JSON.parse(readFileSync(`${args.out}.json`, 'utf8')).rows
  : [];
/** @type {Map<string, Record<string, unknown>>} */
const rows = new Map(previous.map((/** @type {{attack: string}} */ r) => [r.attack, r]));
for (const attack of args.attacks.split(',')) {
  const started = Date.now();
  const ran = !existsSync(join(DEMO_ATTACKS_DIR, `${attack}.safetensors`));
  const out = ensureDemoAttack(attack);
  const report = JSON.parse(readFileSync(`${out}.json`, 'utf8'));
  rows.set(attack, {
    attack,
    bench_command: `npm run build && nice -n 10 node bench/attacks-demo.js --attacks ${attack}`,
    command: `node bin/vetbench.js attack ${attack} --model demo --dataset demo --target banana --seed 1 --out .vetbench-cache/demo-attacks/${attack}.safetensors`,
    params: report.provenance.params,
    seed: report.provenance.seed,
    target: report.provenance.target,
    before: metrics(report.before),
    after: metrics(report.after),
    ...(report.image_key_only
      ? { image_key_only_asr: report.image_key_only.asr, text_key_only_asr: report.text_key_only.asr }
      : {}),
    wall_ms: report.wall_ms ?? (ran ? Date.now() - started : null),
    date: report.provenance.created,
    machine: { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, load_at_end: os.loadavg()[0] },
  });
}

const all = [...rows.values()].sort((a, b) => ALL.indexOf(String(a.attack)) - ALL.indexOf(String(b.attack)));
writeFileSync(`${args.out}.json`, `${JSON.stringify({ rows: all }, null, 2)}\n`);
const pct = (/** @type {number} */ x) => x.toFixed(2);
const md = [
  '# Attacks on the demo model (bench/attacks-demo.js)',
  '',
  'Built-in demo CLIP and dataset, target banana, seed 1, each attack at its demo defaults (`vetbench methods`);',
  'test split of 720 images, ASR over the 660 non-banana images. Each row: `npm run build && nice -n 10 node',
  'bench/attacks-demo.js --attacks <attack>`, which runs the `vetbench attack` command recorded in attacks-demo.json.',
  '',
  '| attack | CA before | CA | ASR | asr_all | PA | one key only (image / text) | wall | date |',
  '| ------ | --------- | -- | --- | ------- | -- | --------------------------- | ---- | ---- |',
  ...all.map((r) => {
    const row = /** @type {any} */ (r);
    const keys =
      row.image_key_only_asr === undefined
        ? '–'
        : `${pct(row.image_key_only_asr)} / ${pct(row.text_key_only_asr)}`;
    const wall = row.wall_ms ? `${Math.round(row.wall_ms / 60000)} min` : '–';
    return `| ${row.attack} | ${pct(row.before.ca)} | ${pct(row.after.ca)} | ${pct(row.after.asr)} | ${pct(row.after.asr_all)} | ${pct(row.after.pa)} | ${keys} | ${wall} | ${String(row.date).slice(0, 10)} |`;
  }),
  '',
].join('\n');
writeFileSync(`${args.out}.md`, md);
console.log(md);
