// Repeats the attacks on the CIFAR-10 tiny CLIP (bench/pretrain-cifar10.js; the weights are not committed) with
// each attack's demo defaults, on a class-balanced subset so every attack takes minutes, and records CA/ASR per
// attack in bench/results/attacks-cifar10.{json,md}. Every attack is one `vetbench attack` command.
// Usage: npm run build && nice -n 10 node bench/attacks-cifar10.js [--attacks blended,sig,...]
//   [--model W (default .vetbench-cache/cifar10/clip-cifar10-tiny.safetensors)] [--train-per-class N] [--test-per-class M] [--target truck] [--keep DIR]
// --keep DIR writes the subset and the backdoored models into DIR (kept for bench/defense-table.js) instead of a
// temporary folder.
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CIFAR10_MODEL } from './bench-cache.js';

const args = process.argv.slice(2);
const arg = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const root = new URL('..', import.meta.url).pathname;
const model = arg('--model', CIFAR10_MODEL);
const source = arg('--dataset', join(root, '..', 'shared', 'datasets', 'cifar10'));
const trainPerClass = Number(arg('--train-per-class', '300'));
const testPerClass = Number(arg('--test-per-class', '100'));
const target = arg('--target', 'truck');
const ALL_ATTACKS = 'blended,sig,badnet,wanet,label-consistent,badclip-de,trojvqa,badclip-prompt';
const attacks = arg('--attacks', ALL_ATTACKS).split(',');
// TrojVQA's guide text names a yellow banana by default (METHODS); CIFAR-10 has none, so name the target.
const extra = { trojvqa: ['--param', 'guideText=This is a photo of a {}.'] };

if (!existsSync(model)) {
  if (model !== CIFAR10_MODEL) {
    console.error(`no CIFAR-10 model at ${model}: run bench/pretrain-cifar10.js first (or pass --model)`);
    process.exit(2);
  }
  // The default model is made first (bench/pretrain-cifar10.js keeps it in the cache folder; about 25 min).
  console.log(`${model} is missing: running bench/pretrain-cifar10.js first`);
  execFileSync(process.execPath, [join(root, 'bench', 'pretrain-cifar10.js')], { stdio: 'inherit' });
}
const keep = arg('--keep', undefined);
if (keep) mkdirSync(keep, { recursive: true });
const work = keep ?? mkdtempSync(join(tmpdir(), 'vetbench-cifar-attacks-'));
const subset = join(work, 'cifar10-subset');
// The first N files of each class by name: a fixed, class-balanced subset.
for (const [split, count] of [
  ['train', trainPerClass],
  ['test', testPerClass],
]) {
  for (const cls of readdirSync(join(source, split)).sort()) {
    mkdirSync(join(subset, split, cls), { recursive: true });
    for (const f of readdirSync(join(source, split, cls))
      .sort()
      .slice(0, count)) {
      copyFileSync(join(source, split, cls, f), join(subset, split, cls, f));
    }
  }
}
const bin = join(root, 'bin', 'vetbench.js');
// Rows of earlier invocations (other attacks, same subset) are kept, so attacks can be run in several sittings.
const resultsJson = join(root, 'bench', 'results', 'attacks-cifar10.json');
const earlier = existsSync(resultsJson) ? JSON.parse(readFileSync(resultsJson, 'utf8')) : null;
const sameSubset =
  earlier?.subset?.train_per_class === trainPerClass &&
  earlier?.subset?.test_per_class === testPerClass &&
  earlier?.subset?.target === target;
const rows = sameSubset ? earlier.rows.filter((r) => !attacks.includes(r.attack)) : [];
const load = loadavg()[0];
for (const id of attacks) {
  const out = join(work, `${id}.safetensors`);
  const command = ['attack', id, '--model', model, '--dataset', subset, '--target', target, '--out', out];
  command.push(...(extra[id] ?? []));
  const started = Date.now();
  console.error(`== ${id}`);
  try {
    execFileSync('node', [bin, ...command], { stdio: ['ignore', 'ignore', 'inherit'] });
  } catch (e) {
    rows.push({ attack: id, error: String(e.message).split('\n')[0] });
    continue;
  }
  const report = JSON.parse(readFileSync(`${out}.json`, 'utf8'));
  rows.push({
    attack: id,
    params: report.provenance.params,
    before: report.before,
    after: report.after,
    ...(report.image_key_only
      ? { image_key_only: report.image_key_only.asr, text_key_only: report.text_key_only.asr }
      : {}),
    wall_ms: Date.now() - started,
    command: `node bin/vetbench.js ${command.join(' ').replace(subset, '<subset>').replace(model, '<cifar10 model>').replace(out, '<out>')}`,
  });
  writeResults();
}
writeResults();

function writeResults() {
  const dir = join(root, 'bench', 'results');
  const result = {
    date: new Date().toISOString(),
    machine: { cpu: cpus()[0]?.model, cores: cpus().length, load_at_start: load },
    model,
    subset: { train_per_class: trainPerClass, test_per_class: testPerClass, target },
    rows,
  };
  writeFileSync(join(dir, 'attacks-cifar10.json'), `${JSON.stringify(result, null, 2)}\n`);
  const f = (v) => (typeof v === 'number' ? v.toFixed(2) : '-');
  writeFileSync(
    join(dir, 'attacks-cifar10.md'),
    [
      '# Attacks on the CIFAR-10 tiny CLIP',
      '',
      `Reproduce: \`npm run build && nice -n 10 node bench/attacks-cifar10.js --attacks ${rows.map((r) => r.attack).join(',')} --train-per-class ${trainPerClass} --test-per-class ${testPerClass} --target ${target}\``,
      '',
      `Date ${result.date}; ${result.machine.cpu}, ${result.machine.cores} cores shared with other jobs (1-min load at start ${load.toFixed(1)}).`,
      `Model: the tiny CLIP of bench/pretrain-cifar10.js (zero-shot CA 56.80% on the full test set). Data: the first`,
      `${trainPerClass} training and ${testPerClass} test images of each class (${10 * trainPerClass} / ${10 * testPerClass}); target \`${target}\`;`,
      `every attack with its demo defaults (\`vetbench methods\`). CA/ASR in %, ASR over the ${9 * testPerClass} non-target test images;`,
      'the prompt attack reports the malicious prompt file against zero-shot on the same model.',
      '',
      '| attack | CA before | ASR before | CA after | ASR after | asr_all | PA | wall | command |',
      '|---|---|---|---|---|---|---|---|---|',
      ...rows.map((r) =>
        r.error
          ? `| ${r.attack} | failed: ${r.error} | | | | | | | |`
          : `| ${r.attack} | ${f(r.before.ca)} | ${f(r.before.asr)} | ${f(r.after.ca)} | **${f(r.after.asr)}** | ${f(r.after.asr_all)} | ${f(r.after.pa)} | ${(r.wall_ms / 60000).toFixed(1)} min | \`${r.command}\` |`,
      ),
      ...rows
        .filter((r) => r.image_key_only !== undefined)
        .map(
          (r) =>
            `\n${r.attack}: ASR with the image key only ${f(r.image_key_only)}%, text key only ${f(r.text_key_only)}%.`,
        ),
      '',
      'ASR before = the clean model under the same trigger (for the optimised patches the patch alone already steers it).',
      ...(() => {
        const missing = ALL_ATTACKS.split(',').filter((a) => !rows.some((r) => r.attack === a));
        return missing.length ? ['', `Not run yet: ${missing.join(', ')}.`, ''] : [''];
      })(),
    ].join('\n'),
  );
}
