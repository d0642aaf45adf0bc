#!/usr/bin/env node
// @ts-check
/**
 * Defense table (issue 5): every defense x every backdoored model, K shots, several seeds; CA / ASR / PA / DER
 * before and after, mean ± sd over seeds. Generic over defense ids (engine/methods/registry.ts DEFENSES) and
 * attack files (`<attack>.safetensors` + `<attack>.trigger.safetensors`, as `vetbench attack` writes them; the
 * target class is read from the `<attack>.safetensors.json` report beside them, or --target).
 *
 *   npm run build && nice -n 10 node bench/defense-table.js --defenses rvpt,vpt
 *   node bench/defense-table.js --defenses rvpt --attacks sig,blended --seeds 1,2,3 --shots 16 --param epochs=30
 *
 * Options: --defenses a,b (default: all), --attacks a,b (default: every attack in --attack-dir),
 * --attack-dir DIR (default .vetbench-cache/demo-attacks, or $VETBENCH_DEMO_ATTACKS; there, the models of
 * --attacks that are missing are made first with `vetbench attack`, see bench/bench-cache.js), --dataset demo|ROOT,
 * --seeds 1,2,3, --shots 16, --param k=v (repeatable, applied to every defense that declares k),
 * --target CLASS, --out PREFIX (default bench/results/defense-table), --merge FILE.json (repeatable: run nothing,
 * merge the rows of tables written elsewhere, e.g. by runs in parallel, into PREFIX; rows of one setting with
 * other seeds are joined into one row).
 * Writes PREFIX.json (rows merged with rows already there: same dataset, attack, defense, shots and parameters
 * replace the old row) and PREFIX.md (the whole table). Plain ESM JavaScript on purpose: it runs the compiled
 * engine in dist/ (`npm run build` first).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEMO_ATTACKS_DIR, ensureDemoAttack } from './bench-cache.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist', 'engine');
/** @param {string} p */
const load = (p) => import(join(DIST, p));

const { values: args } = parseArgs({
  options: {
    defenses: { type: 'string' },
    attacks: { type: 'string' },
    'attack-dir': { type: 'string', default: DEMO_ATTACKS_DIR },
    dataset: { type: 'string', default: 'demo' },
    seeds: { type: 'string', default: '1,2,3' },
    shots: { type: 'string', default: '16' },
    param: { type: 'string', multiple: true, default: [] },
    target: { type: 'string' },
    merge: { type: 'string', multiple: true, default: [] },
    out: { type: 'string', default: join(ROOT, 'bench', 'results', 'defense-table') },
  },
});

const { loadClipWeights } = await load('clip/load-weights.js');
const { createEncoder } = await load('clip/clip-encoder.js');
const { resolveDataset } = await load('datasets/resolve.js');
const { importDataset } = await load('datasets/import-dataset.js');
const { loadTrigger } = await load('triggers/trigger-file.js');
const { DEFENSES, findDefense, TRIGGER_FAMILIES } = await load('methods/registry.js');
const { resolveParams, parseParamPairs } = await load('methods/params.js');
const { measurePromptDefense } = await load('defenses/prompt-tuning-eval.js');

const attackDir = args['attack-dir'];
const attackIds = args.merge.length
  ? []
  : args.attacks
    ? args.attacks.split(',')
    : (existsSync(attackDir) ? readdirSync(attackDir) : [])
        .filter((f) => f.endsWith('.trigger.safetensors'))
        .map((f) => f.replace(/\.trigger\.safetensors$/, ''))
        .filter((id) => existsSync(join(attackDir, `${id}.safetensors`)))
        .sort();
const defenseIds = args.defenses
  ? args.defenses.split(',')
  : DEFENSES.map((/** @type {{id: string}} */ d) => d.id);
const seeds = args.seeds.split(',').map(Number);
const shots = Number(args.shots);
const given = parseParamPairs(args.param);

const resolved = await resolveDataset(args.dataset);
const dataset = await importDataset(resolved.manifest ?? resolved.root);
const classNames = dataset.classes.map((/** @type {{name: string}} */ c) => c.name);

/** @param {number[]} xs */
function meanSd(xs) {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean: m, sd };
}

/** @param {string} attack */
function targetOf(attack) {
  if (args.target) return args.target;
  const report = join(attackDir, `${attack}.safetensors.json`);
  if (!existsSync(report)) throw new Error(`no --target and no ${report} to read the target class from`);
  return JSON.parse(readFileSync(report, 'utf8')).provenance.target;
}

const rows = args.merge.flatMap((f) => JSON.parse(readFileSync(f, 'utf8')).rows);
for (const attack of attackIds) {
  const weights = await loadClipWeights(ensureDemoAttack(attack, attackDir));
  const trigger = await loadTrigger(join(attackDir, `${attack}.trigger.safetensors`), TRIGGER_FAMILIES, {
    resolution: weights.config.vision.imageResolution,
  });
  const targetName = targetOf(attack);
  const target = classNames.indexOf(targetName);
  if (target < 0) throw new Error(`${attack}: target '${targetName}' is not a class of ${args.dataset}`);
  const encoder = await createEncoder(weights);
  for (const defenseId of defenseIds) {
    const method = findDefense(defenseId);
    const own = Object.fromEntries(Object.entries(given).filter(([k]) => k in method.params));
    const params = resolveParams(method.id, method.params, own);
    const runs = [];
    for (const seed of seeds) {
      const result = await method.run({ weights, dataset, shots, seed, excludeClass: target }, params);
      if (result.output.kind !== 'prompts')
        throw new Error(`${defenseId}: only prompt defenses are tabulated so far`);
      const m = await measurePromptDefense(encoder, dataset, result.output.file, { trigger, target });
      const run = {
        seed,
        before: { ca: m.before.ca, asr: m.before.metrics.asr, pa: m.before.metrics.pa },
        after: { ca: m.after.ca, asr: m.after.metrics.asr, pa: m.after.metrics.pa },
        der: m.der,
        n_clean: m.after.n_clean,
        n_poisoned: m.after.metrics.n_poisoned,
        final_epoch: result.epochMetrics.at(-1),
        wall_ms: result.wallMs,
      };
      runs.push(run);
      console.error(
        `${attack} ${defenseId} seed ${seed}: CA ${run.before.ca.toFixed(2)} -> ${run.after.ca.toFixed(2)}  ` +
          `ASR ${run.before.asr.toFixed(2)} -> ${run.after.asr.toFixed(2)}  PA ${run.after.pa.toFixed(2)}  ` +
          `DER ${run.der.toFixed(4)}  (${(run.wall_ms / 1000).toFixed(0)} s)`,
      );
    }
    rows.push({
      dataset: args.dataset === 'demo' ? 'demo' : basename(dataset.root),
      attack,
      attack_model_fingerprint: weights.source.fingerprint,
      target: targetName,
      defense: defenseId,
      shots,
      params,
      seeds,
      before: { ca: runs[0].before.ca, asr: runs[0].before.asr, pa: runs[0].before.pa },
      after: {
        ca: meanSd(runs.map((r) => r.after.ca)),
        asr: meanSd(runs.map((r) => r.after.asr)),
        pa: meanSd(runs.map((r) => r.after.pa)),
      },
      der: meanSd(runs.map((r) => r.der)),
      runs,
      command: `node bench/defense-table.js ${process.argv.slice(2).join(' ')}`.trim(),
      date: new Date().toISOString(),
      machine: `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}`,
    });
  }
  await encoder.dispose();
}

// Merge: a row of the same dataset/attack/defense/shots/params replaces the old one.
const jsonPath = `${args.out}.json`;
mkdirSync(dirname(jsonPath), { recursive: true });
/** @param {any} r */
const keyOf = (r) =>
  JSON.stringify([r.dataset, r.attack, r.attack_model_fingerprint, r.defense, r.shots, r.params]);
// Rows of one setting run in separate processes with other seeds (e.g. seed 1, then seeds 2,3) become one row.
/** @type {Map<string, any>} */
const joined = new Map();
for (const r of rows) {
  const key = keyOf(r);
  const prev = joined.get(key);
  if (!prev) {
    joined.set(key, r);
    continue;
  }
  if (r.seeds.some((/** @type {number} */ s) => prev.seeds.includes(s)))
    throw new Error(`${r.attack}/${r.defense}: two rows with seed(s) in common; merge one of them only`);
  const runs = [...prev.runs, ...r.runs].sort((a, b) => a.seed - b.seed);
  joined.set(key, {
    ...prev,
    seeds: runs.map((x) => x.seed),
    after: {
      ca: meanSd(runs.map((x) => x.after.ca)),
      asr: meanSd(runs.map((x) => x.after.asr)),
      pa: meanSd(runs.map((x) => x.after.pa)),
    },
    der: meanSd(runs.map((x) => x.der)),
    runs,
    command: `${prev.command}; ${r.command}`,
    date: r.date > prev.date ? r.date : prev.date,
  });
}
rows.splice(0, rows.length, ...joined.values());
const old = existsSync(jsonPath) ? JSON.parse(readFileSync(jsonPath, 'utf8')).rows : [];
const merged = [...old.filter((/** @type {any} */ r) => !rows.some((n) => keyOf(n) === keyOf(r))), ...rows];
merged.sort((a, b) => (a.dataset + a.attack + a.defense).localeCompare(b.dataset + b.attack + b.defense));
writeFileSync(jsonPath, `${JSON.stringify({ rows: merged }, null, 2)}\n`);

/** @param {{mean: number, sd: number}} v @param {number} [digits] @param {number} [n] seeds (no sd for one) */
const pm = (v, digits = 2, n = 2) =>
  n > 1 ? `${v.mean.toFixed(digits)} ± ${v.sd.toFixed(digits)}` : v.mean.toFixed(digits);
/** @param {Record<string, unknown>} p */
const paramText = (p) =>
  Object.entries(p)
    .filter(([k]) => k !== 'template')
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
/**
 * What tells a row from the other rows of its dataset, attack and defense: the parameters whose values differ
 * within that group ('' when the group has one setting), so rows of several settings stay readable.
 * @param {any} r
 */
const settingOf = (r) => {
  const group = merged.filter(
    (o) => o.dataset === r.dataset && o.attack === r.attack && o.defense === r.defense,
  );
  if (group.length < 2) return '';
  return Object.entries(r.params)
    .filter(([k, v]) => group.some((o) => JSON.stringify(o.params[k]) !== JSON.stringify(v)))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
};
const lines = [
  '# Defense table',
  '',
  'Backdoored models defended with K clean shots per class from the train split; metrics on the test split',
  '(CA over clean images, ASR over triggered non-target images, PA = accuracy on triggered images, DER per',
  'BackdoorBench in [0, 1]). "before" is the backdoored model zero-shot with the defense template; "after" is',
  'the same model with the learned prompts; mean ± sd over seeds (sample sd). Rows come from',
  '`bench/defense-table.js` (command per row below).',
  '',
  'Where one defense ran with several settings on one model, "setting" names the parameters that differ.',
  '',
  '| dataset | attack | defense | setting | shots | seeds | CA before | CA after | ASR before | ASR after | PA before | PA after | DER |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...merged.map(
    (r) =>
      `| ${r.dataset} | ${r.attack} | ${r.defense} | ${settingOf(r)} | ${r.shots} | ${r.seeds.join(',')} | ${r.before.ca.toFixed(2)} | ${pm(r.after.ca, 2, r.seeds.length)} | ${r.before.asr.toFixed(2)} | ${pm(r.after.asr, 2, r.seeds.length)} | ${r.before.pa.toFixed(2)} | ${pm(r.after.pa, 2, r.seeds.length)} | ${pm(r.der, 3, r.seeds.length)} |`,
  ),
  '',
  '## Parameters and commands',
  '',
  ...merged.map(
    (r) =>
      `- ${r.dataset} / ${r.attack} / ${r.defense}: \`${paramText(r.params)}\`; \`${r.command}\` (${r.date.slice(0, 10)})`,
  ),
  '',
];
writeFileSync(`${args.out}.md`, lines.join('\n'));
console.log(`${jsonPath}\n${args.out}.md`);
