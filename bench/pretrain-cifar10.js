// Trains the demo model's tiny configuration on CIFAR-10 photographs (../shared/datasets/cifar10, not
// committed) into .vetbench-cache/cifar10/ and records zero-shot accuracy and time in bench/results/pretrain-cifar10.{json,md}.
// Usage: npm run build && node bench/pretrain-cifar10.js [--epochs N]
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { CIFAR10_MODEL } from './bench-cache.js';

const args = process.argv.slice(2);
const epochs = args.includes('--epochs') ? args[args.indexOf('--epochs') + 1] : '5';
const root = new URL('..', import.meta.url).pathname;
const dataset = join(root, '..', 'shared', 'datasets', 'cifar10');
// Kept in the repository's cache folder: bench/attacks-cifar10.js attacks it.
const out = CIFAR10_MODEL;
mkdirSync(dirname(out), { recursive: true });
const bin = join(root, 'bin', 'vetbench.js');
const load = loadavg()[0];
const started = Date.now();
const command = ['pretrain', '--dataset', dataset, '--out', out, '--epochs', epochs];
execFileSync('node', [bin, ...command], { stdio: ['ignore', 'inherit', 'inherit'] });
const wallMs = Date.now() - started;
const report = JSON.parse(readFileSync(`${out}.json`, 'utf8'));
const evalJson = JSON.parse(
  execFileSync('node', [bin, 'eval', '--model', out, '--dataset', dataset, '--json'], { encoding: 'utf8' }),
);
const result = {
  date: new Date().toISOString(),
  command: `node bin/vetbench.js ${command.join(' ').replace(dataset, '../shared/datasets/cifar10').replace(out, '<out>')}`,
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, load_at_start: load },
  epochs: Number(epochs),
  steps: report.steps,
  wall_ms_total: wallMs,
  wall_ms_training: report.wall_ms,
  epoch_losses: report.epoch_losses,
  zero_shot_ca_test: evalJson.ca,
  n_test: evalJson.n_clean,
  per_class: evalJson.per_class,
  config: report.config,
};
const dir = join(root, 'bench', 'results');
writeFileSync(join(dir, 'pretrain-cifar10.json'), `${JSON.stringify(result, null, 2)}\n`);
writeFileSync(
  join(dir, 'pretrain-cifar10.md'),
  [
    '# Tiny CLIP pretrained on CIFAR-10 photographs',
    '',
    `Reproduce: \`npm run build && node bench/pretrain-cifar10.js --epochs ${epochs}\` (runs \`${result.command}\`).`,
    '',
    `Date ${result.date}; ${result.machine.cpu}, ${result.machine.cores} cores, 1-min load at start ${load.toFixed(2)}.`,
    '',
    `Same configuration as the demo model (ViT patch 8 width 128 x 4 blocks, text width 64 x 4, embed 64), captions from`,
    `class-name templates (CIFAR-10 has none), ${epochs} epochs = ${report.steps} steps of batch 64 on 50,000 images.`,
    '',
    `| zero-shot CA (test, 10,000 images, "a photo of a {}.") | training time | epoch losses |`,
    `|---|---|---|`,
    `| **${evalJson.ca.toFixed(2)}%** | ${(report.wall_ms / 60000).toFixed(1)} min | ${report.epoch_losses.map((x) => x.toFixed(3)).join(', ')} |`,
    '',
    '| class | CA |',
    '|---|---|',
    ...evalJson.per_class.map((c) => `| ${c.name} | ${((100 * c.correct) / c.n).toFixed(1)}% |`),
    '',
  ].join('\n'),
);
console.log(`zero-shot CA ${evalJson.ca.toFixed(2)}%, ${(wallMs / 60000).toFixed(1)} min`);
