// Baseline defenses (linear probe, FT, CleanCLIP) on the backdoored demo models: CA/ASR/PA/DER before and
// after, K shots per class, one row per attack x method x seed, appended as JSON lines to --out.
//
//   npm run build && node bench/baselines-demo.js --attacks sig,blended --methods linear-probe,finetune,cleanclip \
//     [--seeds 1,2,3] [--shots 16] [--models DIR (default .vetbench-cache/demo-attacks)] [--param finetune.lr=1e-4 ...] \
//     [--out bench/results/baselines-demo.jsonl]
//   node bench/baselines-demo.js --summarize [--out FILE]   # markdown table (mean ± sd over seeds) of FILE
//
// Each attack <a> needs <models>/<a>.safetensors and <a>.trigger.safetensors (vetbench attack writes both; in
// the default folder a missing one is made first, see bench/bench-cache.js);
// the target class is read from the attack's <a>.safetensors.json report when present, else banana.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadClipWeights } from '../dist/engine/clip/load-weights.js';
import { importDataset } from '../dist/engine/datasets/import-dataset.js';
import { resolveDataset } from '../dist/engine/datasets/resolve.js';
import { measureBaselineOutput } from '../dist/engine/defenses/baselines/baseline-output.js';
import { resolveParams } from '../dist/engine/methods/params.js';
import { DEFENSES, TRIGGER_FAMILIES } from '../dist/engine/methods/registry.js';
import { loadTrigger } from '../dist/engine/triggers/trigger-file.js';
import { DEMO_ATTACKS_DIR, ensureDemoAttack } from './bench-cache.js';

const { values } = parseArgs({
  options: {
    attacks: { type: 'string', default: 'sig' },
    methods: { type: 'string', default: 'linear-probe,finetune,cleanclip' },
    seeds: { type: 'string', default: '1' },
    shots: { type: 'string', default: '16' },
    models: { type: 'string', default: DEMO_ATTACKS_DIR },
    dataset: { type: 'string', default: 'demo' },
    param: { type: 'string', multiple: true, default: [] },
    out: { type: 'string', default: 'bench/results/baselines-demo.jsonl' },
    summarize: { type: 'boolean', default: false },
  },
});

if (values.summarize) {
  const rows = readFileSync(values.out, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const groups = new Map();
  for (const r of rows) {
    const key = `${r.attack}|${r.method}|${r.shots}|${JSON.stringify(r.params)}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(r);
  }
  const ms = (xs) => {
    const m = xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1)) : 0;
    return `${m.toFixed(2)} ± ${sd.toFixed(2)}`;
  };
  console.log(
    '| attack | defense | seeds | CA before | ASR before | CA after | ASR after | PA after | DER |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const rs of groups.values()) {
    const r0 = rs[0];
    console.log(
      `| ${r0.attack} | ${r0.method} | ${rs.map((r) => r.seed).join(',')} | ${r0.before.ca.toFixed(2)} | ${r0.before.asr.toFixed(2)} | ${ms(rs.map((r) => r.after.ca))} | ${ms(rs.map((r) => r.after.asr))} | ${ms(rs.map((r) => r.after.pa))} | ${ms(rs.map((r) => r.der))} |`,
    );
  }
  process.exit(0);
}

const list = (s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
const resolved = await resolveDataset(values.dataset);
const dataset = await importDataset(resolved.manifest ?? resolved.root);
const shots = Number(values.shots);

/** `method.key=value` pairs, by method. */
const overrides = {};
for (const p of values.param) {
  const m = /^([^.=]+)\.([^=]+)=(.*)$/.exec(p);
  if (!m) throw new Error(`--param ${p}: write method.key=value`);
  (overrides[m[1]] ??= {})[m[2]] = m[3];
}

for (const attack of list(values.attacks)) {
  const modelPath = ensureDemoAttack(attack, values.models);
  const reportPath = `${modelPath}.json`;
  const targetName = existsSync(reportPath)
    ? (JSON.parse(readFileSync(reportPath, 'utf8')).provenance?.target ?? 'banana')
    : 'banana';
  const target = dataset.classes.findIndex((c) => c.name === targetName);
  const weights = await loadClipWeights(modelPath);
  const trigger = await loadTrigger(join(values.models, `${attack}.trigger.safetensors`), TRIGGER_FAMILIES, {
    resolution: weights.config.vision.imageResolution,
  });
  for (const methodId of list(values.methods)) {
    const method = DEFENSES.find((d) => d.id === methodId);
    if (!method) throw new Error(`unknown defense ${methodId}`);
    const params = resolveParams(method.id, method.params, overrides[methodId] ?? {});
    for (const seed of list(values.seeds).map(Number)) {
      const result = await method.run({ weights, dataset, shots, seed }, params);
      const m = await measureBaselineOutput(weights, dataset, result.output, { trigger, target });
      const row = {
        attack,
        method: method.id,
        seed,
        shots,
        params,
        target: targetName,
        before: { ca: m.before.ca, asr: m.before.metrics.asr, pa: m.before.metrics.pa },
        after: { ca: m.after.ca, asr: m.after.metrics.asr, pa: m.after.metrics.pa },
        der: m.der,
        n_clean: m.after.n_clean,
        n_poisoned: m.after.metrics.n_poisoned,
        last_epoch: result.epochMetrics.at(-1),
        train_images: result.trainImages,
        wall_ms: result.wallMs,
        model_fingerprint: weights.source.fingerprint,
      };
      appendFileSync(values.out, `${JSON.stringify(row)}\n`);
      console.log(
        `${attack.padEnd(12)} ${method.id.padEnd(13)} seed ${seed}  CA ${m.before.ca.toFixed(2)} -> ${m.after.ca.toFixed(2)}  ASR ${m.before.metrics.asr.toFixed(2)} -> ${m.after.metrics.asr.toFixed(2)}  DER ${m.der.toFixed(3)}  (${(result.wallMs / 1000).toFixed(0)} s) ${JSON.stringify(overrides[methodId] ?? {})}`,
      );
    }
  }
}
