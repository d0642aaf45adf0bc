// @ts-check
/**
 * Oracle diagnostic for the defenses (issue "A demo world...", step 1): can visual prompts remove a backdoor
 * at all on this model, if they are shown what to unlearn? VPT (RVPT without repulsion) is tuned on the K
 * clean shots per class plus the same shots with the attack's own trigger, labelled with their true class,
 * with prompts in the last block and in every block. If the oracle removes the backdoor, the prompt path has
 * the capacity and a defense that fails needs a better objective or setting; if it does not, depth or
 * capacity is what is missing. The plain VPT and RVPT runs (clean shots only) are the control.
 *
 *   node bench/oracle-vpt.js [--attack blended] [--shots 16] [--seed 1] [--depths -1,0]
 *
 * Writes bench/results/oracle-vpt-<attack>.json and .md. The backdoored demo model comes from
 * bench/bench-cache.js (made with `vetbench attack` when missing). Runs go into .vetbench-cache/.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BENCH_CACHE, REPO_ROOT, ensureDemoAttack } from './bench-cache.js';

const { importDataset } = await import('../dist/engine/datasets/import-dataset.js');
const { resolveDataset } = await import('../dist/engine/datasets/resolve.js');
const { sampleFewShot } = await import('../dist/engine/datasets/sampler.js');
const { ImageLoader } = await import('../dist/engine/datasets/image-loader.js');
const { loadTrigger } = await import('../dist/engine/triggers/trigger-file.js');
const { TRIGGER_FAMILIES } = await import('../dist/engine/methods/registry.js');
const { encodePng } = await import('../dist/engine/demo/png.js');

/** @param {string} name @param {string} fallback */
function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? /** @type {string} */ (process.argv[i + 1]) : fallback;
}
const attack = arg('attack', 'blended');
const shots = Number(arg('shots', '16'));
const seed = Number(arg('seed', '1'));
const depths = arg('depths', '-1,0').split(',').map(Number);
const target = 'banana';

const model = ensureDemoAttack(attack);
const triggerPath = model.replace(/\.safetensors$/, '.trigger.safetensors');
const work = join(BENCH_CACHE, `oracle-${attack}-k${shots}-s${seed}`);
rmSync(join(work, 'dataset'), { recursive: true, force: true });
const oracleRoot = join(work, 'dataset');

// The defender's K shots exactly as `vetbench defend` samples them, then the same images with the trigger.
const demo = await importDataset((await resolveDataset('demo')).root);
const sample = sampleFewShot(demo, { shotsPerClass: shots, seed });
const resolution = 32;
const loader = new ImageLoader({ resolution, cacheBytes: 0, normalize: false });
const loaded = await loader.load(sample.items);
const trigger = await loadTrigger(triggerPath, TRIGGER_FAMILIES);
const plane = 3 * resolution * resolution;
/** @param {Float32Array} chw */
function png(chw) {
  const hwc = new Uint8Array(plane);
  for (let p = 0; p < resolution * resolution; p++)
    for (let c = 0; c < 3; c++)
      hwc[p * 3 + c] = Math.max(
        0,
        Math.min(255, Math.round(/** @type {number} */ (chw[c * resolution * resolution + p]) * 255)),
      );
  return encodePng(resolution, resolution, hwc);
}
for (const [row, item] of loaded.items.entries()) {
  const clean = loaded.pixels.data.slice(row * plane, (row + 1) * plane);
  const triggered = clean.slice();
  await trigger.apply(triggered, [{ key: item.relativePath }]);
  const cls = /** @type {{ folder: string }} */ (demo.classes[item.label]).folder;
  const base = join(oracleRoot, 'train', cls, item.relativePath.replace(/[/\\]/g, '_').replace(/\.png$/, ''));
  mkdirSync(dirname(base), { recursive: true });
  writeFileSync(`${base}.png`, png(clean));
  writeFileSync(`${base}-triggered.png`, png(triggered));
}
// The test split is the demo's, copied (CA and ASR are measured on it, as for every defense).
for (const item of demo.items.filter((i) => i.split === 'test')) {
  const to = join(oracleRoot, item.relativePath);
  mkdirSync(dirname(to), { recursive: true });
  writeFileSync(to, readFileSync(join(demo.root, item.relativePath)));
}

/**
 * @param {string} label @param {string} method @param {string} dataset @param {number} k @param {number} depth
 * @param {string[]} [extra] more --param key=value pairs
 */
function defend(label, method, dataset, k, depth, extra = []) {
  const out = join(work, `${label}.safetensors`);
  const args = [
    join(REPO_ROOT, 'bin', 'vetbench.js'),
    'defend',
    method,
    '--model',
    model,
    '--dataset',
    dataset,
    '--shots',
    String(k),
    '--seed',
    String(seed),
    '--param',
    `depth=${depth}`,
    '--trigger',
    triggerPath,
    '--target',
    target,
    '--project',
    join(work, 'runs.vbproj'),
    '--out',
    out,
    ...extra.flatMap((p) => ['--param', p]),
  ];
  // A run whose report is already there from the same command is not run again (a bench stopped late resumes).
  const command = `vetbench ${args.slice(1).join(' ')}`;
  const previous = existsSync(`${out}.json`) ? JSON.parse(readFileSync(`${out}.json`, 'utf8')) : null;
  if (previous?.command === command) console.log(`${label}: reusing ${out}.json`);
  else {
    console.log(`${label}: node ${args.join(' ')}`);
    const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`${label} failed (exit ${r.status})`);
  }
  const report = JSON.parse(readFileSync(`${out}.json`, 'utf8'));
  const last = report.epoch_metrics.at(-1) ?? {};
  return {
    label,
    method,
    depth,
    params: extra,
    trainImages: report.train_images,
    finalFr: typeof last.fr === 'number' ? last.fr : null,
    before: report.before,
    after: report.after,
  };
}

const rows = [];
for (const depth of depths) {
  rows.push(defend(`oracle-vpt-d${depth}`, 'vpt', oracleRoot, 2 * shots, depth));
  rows.push(defend(`vpt-d${depth}`, 'vpt', 'demo', shots, depth));
  rows.push(defend(`rvpt-d${depth}`, 'rvpt', 'demo', shots, depth));
  // Repulsion alone: the step is lr*(grad CE + alpha*grad FR); alpha 100 at lr 2e-4 moves the prompts by the
  // FR term as RVPT's defaults do (lr 0.01 x alpha 2) with the CE weighted 1/100 of it (weight decay rescaled).
  rows.push(
    defend(`repulsion-only-d${depth}`, 'rvpt', 'demo', shots, depth, [
      'alpha=100',
      'lr=0.0002',
      'weightDecay=0.025',
    ]),
  );
}
const command = `node bench/oracle-vpt.js --attack ${attack} --shots ${shots} --seed ${seed} --depths ${depths.join(',')}`;
const results = join(REPO_ROOT, 'bench', 'results');
writeFileSync(
  join(results, `oracle-vpt-${attack}.json`),
  `${JSON.stringify({ command, attack, shots, seed, rows }, null, 2)}\n`,
);
const pct = (/** @type {number|undefined} */ v) => (v === undefined ? '-' : v.toFixed(2));
const md = [
  `# Oracle VPT on the demo's ${attack} model`,
  '',
  `\`${command}\` (load: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')})`,
  '',
  "oracle = VPT on the clean shots plus the same shots with the attack's trigger, labelled with their true class;",
  'repulsion-only = RVPT with alpha 100 at lr 2e-4 (the FR step of the defaults, CE weighted 1/100); depth -1 = prompts in the last block,',
  '0 = in every block. CA and ASR on the demo test split (ASR over the',
  'non-target images), before = the backdoored model zero-shot.',
  '',
  'final FR = mean cos(prompted, frozen class token) over the prompted blocks in the last epoch (1 = not moved).',
  '',
  '| run | params | train images | depth | CA before | CA after | ASR before | ASR after | final FR |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...rows.map(
    (r) =>
      `| ${r.label} | ${r.params.join(' ') || '-'} | ${r.trainImages} | ${r.depth} | ${pct(r.before.ca)} | ${pct(r.after.ca)} | ${pct(r.before.asr)} | ${pct(r.after.asr)} | ${r.finalFr === null ? '-' : r.finalFr.toFixed(4)} |`,
  ),
  '',
];
writeFileSync(join(results, `oracle-vpt-${attack}.md`), md.join('\n'));
console.log(md.join('\n'));
