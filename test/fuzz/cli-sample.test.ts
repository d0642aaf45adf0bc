import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { mapWithConcurrency } from '../../engine/datasets/concurrency.js';
import { Rng } from '../../engine/util/rng.js';
import type { CraftedCase, FuzzKind } from './harness/fuzz-kind.js';
import { mutate } from './harness/mutate.js';
import { FUZZ_LIMITS } from './harness/run-fuzz.js';
import { runCli, type CliRun } from './harness/run-cli.js';
import { csvManifestKind } from './kinds/csv-manifest.js';
import { writeValidDataset } from './kinds/dataset-folder.js';
import { npyKind } from './kinds/npy.js';
import { promptFileKind } from './kinds/prompt-file.js';
import { triggerFileKind } from './kinds/trigger-file.js';
import { tinyWeightsFile, weightsKind } from './kinds/weights.js';

// Runs the built CLI (dist/): `npm run build` first (npm test does). A small sample (each run starts Node and
// loads the CLI): the bulk of the fuzz inputs go through the engine loaders in-process (test/fuzz/*.test.ts).
/** Per run: a hang is caught, while a slow start on a busy machine is not mistaken for one. */
const CLI_TIMEOUT_MS = 60_000;
const dir = mkdtempSync(join(tmpdir(), 'vetbench-fuzz-cli-'));
let model: string;
let dataset: string;

interface Sample {
  readonly name: string;
  readonly path: string;
  /** Arguments; the input's path is already in them. */
  readonly args: string[];
  /** 'refuse': must exit 2 with a message naming `path`; 'either': 0, or 2 likewise. */
  readonly expect: 'refuse' | 'either' | 'accept';
}

let counter = 0;
function place(kind: FuzzKind<unknown>, bytes: Uint8Array): string {
  const caseDir = join(dir, `case-${++counter}`);
  const path = join(caseDir, kind.fileName);
  mkdirSync(join(path, '..'), { recursive: true });
  kind.prepare?.(caseDir);
  writeFileSync(path, bytes);
  return path;
}

async function crafted<T>(kind: FuzzKind<T>, names: string[]): Promise<CraftedCase[]> {
  const all = kind.crafted(await kind.seeds(dir));
  return names.map((name) => all.find((c) => c.name === name)!);
}

async function mutants<T>(kind: FuzzKind<T>, count: number, seed: number): Promise<Uint8Array[]> {
  const seeds = await kind.seeds(dir);
  const rng = new Rng(seed);
  return Array.from({ length: count }, (_, i) =>
    mutate(new Uint8Array(seeds[i % seeds.length]!.bytes), rng, kind.mutations),
  );
}

const samples: Sample[] = [];

beforeAll(async () => {
  model = await tinyWeightsFile(dir);
  dataset = join(dir, 'dataset');
  writeValidDataset(dataset);
  const project = (name: string) => ['--project', join(dir, `${name}.vbproj`)];

  // Weights: a named pipe, the valid file, and random mutants, through `inspect-model`.
  const fifo = join(dir, 'pipe.safetensors');
  execFileSync('mkfifo', [fifo]);
  samples.push({ name: 'weights: named pipe', path: fifo, args: ['inspect-model', fifo], expect: 'refuse' });
  samples.push({ name: 'weights: valid', path: model, args: ['inspect-model', model], expect: 'accept' });
  for (const [i, bytes] of (await mutants(weightsKind as FuzzKind<unknown>, 1, 101)).entries()) {
    const path = place(weightsKind as FuzzKind<unknown>, bytes);
    samples.push({ name: `weights: mutant ${i}`, path, args: ['inspect-model', path], expect: 'either' });
  }
  // Prompt files through `eval --prompts`: the 8,192-token file and an edited template.
  for (const c of await crafted(promptFileKind, ['8192 prompt tokens'])) {
    const path = place(promptFileKind as FuzzKind<unknown>, c.bytes);
    samples.push({
      name: `prompt file: ${c.name}`,
      path,
      args: ['eval', '--model', model, '--dataset', dataset, '--prompts', path, ...project(`p${counter}`)],
      expect: 'refuse',
    });
  }
  // Trigger files through `trigger preview`.
  for (const c of await crafted(triggerFileKind, [
    'resolution 100000 (184 bytes)',
    'blended NaN noise',
    'resolution 1e6',
  ])) {
    const path = place(triggerFileKind as FuzzKind<unknown>, c.bytes);
    samples.push({
      name: `trigger: ${c.name}`,
      path,
      args: ['trigger', 'preview', path, '--out', `${path}.png`],
      expect: 'refuse',
    });
  }
  const [for64] = await crafted(triggerFileKind, ['resolution 64 for an 8 px model']);
  const path64 = place(triggerFileKind as FuzzKind<unknown>, for64!.bytes);
  samples.push({
    name: 'trigger: 64 px trigger previewed for a 32 px model',
    path: path64,
    args: ['trigger', 'preview', path64, '--resolution', '32', '--out', `${path64}.png`],
    expect: 'refuse',
  });
  // npy token ids through `encode`.
  for (const c of await crafted(npyKind, ['int64 2^62'])) {
    const path = place(npyKind as FuzzKind<unknown>, c.bytes);
    samples.push({
      name: `npy: ${c.name}`,
      path,
      args: ['encode', '--model', model, '--input-ids', path, '--out', join(dir, `enc-${counter}`)],
      expect: 'refuse',
    });
  }
  // CSV manifests and dataset folders through `dataset inspect`.
  for (const c of await crafted(csvManifestKind, ['unterminated quote'])) {
    const path = place(csvManifestKind as FuzzKind<unknown>, c.bytes);
    samples.push({ name: `csv: ${c.name}`, path, args: ['dataset', 'inspect', path], expect: c.expect });
  }
  const hostile = join(dir, 'hostile-dataset');
  writeValidDataset(hostile);
  execFileSync('mkfifo', [join(hostile, 'train', 'cat', 'pipe.png')]);
  writeFileSync(join(dir, 'outside.png'), readFileSync(join(hostile, 'train', 'dog', 'dog_0.png')));
  symlinkSync(join(dir, 'outside.png'), join(hostile, 'train', 'dog', 'link.png'));
  samples.push({
    name: 'dataset: pipe and symlink out',
    path: hostile,
    args: ['dataset', 'inspect', '--verify', hostile],
    expect: 'either',
  });
}, 60_000);

function problems(sample: Sample, run: CliRun): string[] {
  const out: string[] = [];
  const text = `${run.stdout}\n${run.stderr}`;
  if (run.timedOut) out.push(`no answer within ${CLI_TIMEOUT_MS} ms`);
  else if (run.code !== 0 && run.code !== 2) out.push(`exit code ${run.code} (signal ${run.signal})`);
  if (/^\s+at .*:\d+:\d+\)?$/m.test(text)) out.push('prints a stack trace');
  if (/This is unexpected/.test(text)) out.push('ends in an unexpected error');
  if (/import-[0-9a-f]{16}-/.test(run.stderr))
    out.push("names the project's copy instead of the user's file");
  if (sample.expect === 'refuse' && run.code !== 2) out.push(`expected a refusal, exit ${run.code}`);
  if (sample.expect === 'accept' && run.code !== 0)
    out.push(`expected success, exit ${run.code}: ${run.stderr.slice(0, 200)}`);
  if (run.code === 2 && !run.stderr.includes(sample.path))
    out.push(`the error does not name ${sample.path}: ${run.stderr.slice(0, 200)}`);
  if (!(run.maxRssBytes < FUZZ_LIMITS.rssBytes)) out.push(`peak RSS ${run.maxRssBytes} bytes`);
  return out.map((p) => `${sample.name}: ${p}`);
}

describe('fuzz: a sample through the real CLI', () => {
  it.skipIf(process.platform === 'win32')(
    'exits 0 or 2 with a clean message naming the file, no stack, no hang, peak RSS under 1.5 GB',
    async () => {
      const env = { XDG_DATA_HOME: join(dir, 'data-home') };
      const runs = await mapWithConcurrency(samples, 2, (s) => runCli(s.args, env, CLI_TIMEOUT_MS));
      const peak = Math.max(...runs.map((r) => r.maxRssBytes));
      console.log(
        `fuzz cli: ${samples.length} runs, exit codes ${runs.map((r) => r.code).join(' ')}, peak RSS ${(peak / 2 ** 20).toFixed(0)} MB, slowest ${Math.max(...runs.map((r) => r.wallMs))} ms`,
      );
      expect(samples.flatMap((s, i) => problems(s, runs[i]!))).toEqual([]);
    },
    300_000,
  );
});
