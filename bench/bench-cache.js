// @ts-check
/**
 * Where the benches keep what they make and reuse (backdoored models, a retrained CIFAR-10 CLIP): the
 * repository's own, git-ignored `.vetbench-cache/`, never a folder outside the clone. A bench that needs a
 * backdoored demo model that is not there makes it first with `vetbench attack` (the demo defaults, seed 1,
 * target banana: the runs behind docs/attacks.md), so every recorded command runs from a fresh clone.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const BENCH_CACHE = join(REPO_ROOT, '.vetbench-cache');
/** The backdoored demo models (`<attack>.safetensors`, its `.trigger.safetensors` and `.safetensors.json`). */
export const DEMO_ATTACKS_DIR = process.env.VETBENCH_DEMO_ATTACKS ?? join(BENCH_CACHE, 'demo-attacks');
/** The CIFAR-10 tiny CLIP of bench/pretrain-cifar10.js and the CIFAR-10 attacks of bench/attacks-cifar10.js. */
export const CIFAR10_MODEL = join(BENCH_CACHE, 'cifar10', 'clip-cifar10-tiny.safetensors');
export const CIFAR10_ATTACKS_DIR = join(BENCH_CACHE, 'cifar10-attacks');

/** `clean-ft` is the demo model fine-tuned exactly as the attacks do but with no poison (docs/scanning.md). */
const EXTRA_PARAMS = /** @type {Record<string, string[]>} */ ({ 'clean-ft': ['--param', 'poisonRate=0'] });

/**
 * `<dir>/<name>.safetensors`, made first when missing: `vetbench attack <name>` on the demo model and dataset
 * (`clean-ft`: BadNet with no poison). Takes 10-45 min on 2 cores per model; the run is recorded in
 * `<dir>/attacks.vbproj`. Only the default folder is filled: a folder given by the caller must hold the model.
 * @param {string} name
 * @param {string} [dir]
 */
export function ensureDemoAttack(name, dir = DEMO_ATTACKS_DIR) {
  const out = join(dir, `${name}.safetensors`);
  if (existsSync(out)) return out;
  if (resolve(dir) !== resolve(DEMO_ATTACKS_DIR))
    throw new Error(`${out} is missing: make it with \`vetbench attack ${name} ... --out ${out}\``);
  mkdirSync(dir, { recursive: true });
  const attack = name === 'clean-ft' ? 'badnet' : name;
  const args = [
    join(REPO_ROOT, 'bin', 'vetbench.js'),
    'attack',
    attack,
    '--model',
    'demo',
    '--dataset',
    'demo',
    '--target',
    'banana',
    '--seed',
    '1',
    ...(EXTRA_PARAMS[name] ?? []),
    '--project',
    join(dir, 'attacks.vbproj'),
    '--out',
    out,
  ];
  console.log(`${name}: ${out} is missing; making it: node ${args.join(' ')}`);
  const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
  if (r.status !== 0 || !existsSync(out))
    throw new Error(`vetbench attack ${attack} failed (exit ${r.status})`);
  return out;
}
