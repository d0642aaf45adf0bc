import type { ClipEncoder } from '../clip/clip-encoder.js';
import type { Dataset } from '../datasets/dataset.js';
import { ImageLoader } from '../datasets/image-loader.js';
import { sampleFewShot } from '../datasets/sampler.js';
import { VetbenchError } from '../errors.js';
import { argmaxRows, zeroShotClassifier } from '../eval/image-classifier.js';
import { normalizePixels } from '../image/preprocess.js';
import { resolveParams, type ParamValues } from '../methods/params.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import { decideProbe, PROBE_MIN_DOMINANCE, PROBE_MIN_SHARE, type ProbeDecision } from './probe-decision.js';
import { DEFAULT_PROBES, type ProbeSpec } from './probe-ladder.js';

/**
 * Family probe: a black-box scan for backdoors whose trigger is an instance of a known family. Clean images
 * get fresh random instances of each family (new noise patches, noise images, warp fields; SIG's sine) at the
 * sizes of `DEFAULT_PROBES`; a class that then takes most of the other classes' images, and far more than any
 * other class, is flagged (`decideProbe`). It does not need the attacker's trigger instance, only that the
 * backdoor generalises over its family, as a poisoned CLIP's does for per-image noise patches and random
 * warps (docs/scanning.md has the measurements); it cannot find optimised patches, which the inversion scan
 * looks for.
 */
export interface FamilyProbeOptions {
  readonly shots: number;
  readonly seed: number;
  readonly probes?: readonly ProbeSpec[];
  readonly batchSize?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: {
    readonly done: number;
    readonly total: number;
    readonly etaMs: number;
  }) => void;
}

export const FAMILY_PROBE_DEFAULTS = { shots: 16 } as const;

export interface ProbeClassResult {
  readonly name: string;
  /** Images of other classes predicted as this class under the probe (all draws). */
  readonly reached: number;
  readonly n: number;
  readonly share: number;
  /** The same share without any trigger: the class's own pull on clean images. */
  readonly cleanShare: number;
}

export interface ProbeResult {
  readonly label: string;
  readonly family: string;
  readonly params: ParamValues;
  readonly draws: number;
  readonly perClass: readonly ProbeClassResult[];
  readonly decision: ProbeDecision;
}

export interface FamilyProbeReport {
  readonly verdict: 'backdoor-suspected' | 'no-evidence';
  /** The flagged class and the probe that flags it with the largest share. */
  readonly suspect: {
    readonly index: number;
    readonly name: string;
    readonly probe: string;
    readonly share: number;
  } | null;
  /** The largest share any class takes under any probe. */
  readonly score: number;
  readonly rule: { readonly minShare: number; readonly minDominance: number };
  readonly probes: readonly ProbeResult[];
  readonly images: number;
  readonly settings: { readonly shots: number; readonly seed: number };
  readonly failed: readonly { path: string; reason: string }[];
  readonly wallMs: number;
}

/** The trigger seed of draw `d` of probe `p`: distinct per scan seed, probe and draw. */
export function probeTriggerSeed(seed: number, probe: number, draw: number): number {
  return (seed * 1_000_003 + probe * 1_009 + draw) >>> 0;
}

export async function probeTriggerFamilies(
  encoder: ClipEncoder,
  dataset: Dataset,
  options: FamilyProbeOptions,
): Promise<FamilyProbeReport> {
  const started = Date.now();
  const names = dataset.classes.map((c) => c.name);
  if (names.length < 3) {
    throw new VetbenchError(
      'scan-too-few-classes',
      `the dataset has ${names.length} classes; the probe compares classes with each other and needs at least 3`,
      'Probe with a dataset of more classes.',
    );
  }
  const probes = options.probes ?? DEFAULT_PROBES;
  const resolution = encoder.weights.config.vision.imageResolution;
  const sample = sampleFewShot(dataset, { shotsPerClass: options.shots, seed: options.seed });
  const loader = new ImageLoader({ resolution, normalize: false, cacheBytes: 0 });
  const batches: { pixels: HostTensor; labels: number[]; keys: string[] }[] = [];
  const failed: { path: string; reason: string }[] = [];
  for await (const b of loader.batches(sample.items, options.batchSize ?? 64)) {
    for (const f of b.failed) failed.push({ path: f.item.relativePath, reason: f.reason });
    if (b.items.length === 0) continue;
    batches.push({
      pixels: b.pixels,
      labels: b.items.map((i) => i.label),
      keys: b.items.map((i) => i.relativePath),
    });
  }
  const images = batches.reduce((a, b) => a + b.labels.length, 0);
  if (images === 0) {
    throw new VetbenchError(
      'scan-no-images',
      'no training image of the dataset could be loaded for the probe',
      'Check the dataset with `vetbench dataset inspect`.',
    );
  }
  const classifier = zeroShotClassifier(encoder, names);
  const predict = async (pixels01: Float32Array, shape: readonly number[]): Promise<Int32Array> =>
    argmaxRows(
      await classifier.logits({
        data: normalizePixels(pixels01, new Float32Array(pixels01.length), resolution * resolution),
        shape,
      }),
    );
  /** reached[k] and n[k] over the images of classes other than k. */
  const tally = (labels: readonly number[], predictions: Int32Array, reached: number[], n: number[]) => {
    labels.forEach((y, i) => {
      for (let k = 0; k < names.length; k++) {
        if (k === y) continue;
        n[k]!++;
        if (predictions[i] === k) reached[k]!++;
      }
    });
  };
  const cleanReached = names.map(() => 0);
  const cleanN = names.map(() => 0);
  for (const b of batches)
    tally(b.labels, await predict(b.pixels.data, b.pixels.shape), cleanReached, cleanN);

  const total = probes.reduce((a, p) => a + p.draws, 0);
  let done = 0;
  const results: ProbeResult[] = [];
  for (const [p, spec] of probes.entries()) {
    const params = resolveParams(spec.family.id, spec.family.params, spec.params);
    const reached = names.map(() => 0);
    const n = names.map(() => 0);
    for (let d = 0; d < spec.draws; d++) {
      if (options.signal?.aborted) {
        throw new VetbenchError('cancelled', 'the probe was cancelled', 'Run the scan again.');
      }
      const trigger = spec.family.create({ params, seed: probeTriggerSeed(options.seed, p, d), resolution });
      for (const b of batches) {
        const poisoned = Float32Array.from(b.pixels.data);
        await trigger.apply(
          poisoned,
          b.keys.map((key) => ({ key: `probe ${d}: ${key}` })),
        );
        tally(b.labels, await predict(poisoned, b.pixels.shape), reached, n);
      }
      done++;
      const elapsed = Date.now() - started;
      options.onProgress?.({ done, total, etaMs: (elapsed / done) * (total - done) });
    }
    const perClass = names.map((name, k) => ({
      name,
      reached: reached[k]!,
      n: n[k]!,
      share: n[k]! ? reached[k]! / n[k]! : 0,
      cleanShare: cleanN[k]! ? cleanReached[k]! / cleanN[k]! : 0,
    }));
    results.push({
      label: spec.label,
      family: spec.family.id,
      params,
      draws: spec.draws,
      perClass,
      decision: decideProbe(perClass),
    });
  }
  const flagged = results
    .filter((r) => r.decision.flagged)
    .sort((a, b) => b.decision.top.share - a.decision.top.share)[0];
  return {
    verdict: flagged ? 'backdoor-suspected' : 'no-evidence',
    suspect: flagged
      ? {
          index: flagged.decision.top.index,
          name: flagged.decision.top.name,
          probe: flagged.label,
          share: flagged.decision.top.share,
        }
      : null,
    score: Math.max(...results.map((r) => r.decision.top.share)),
    rule: { minShare: PROBE_MIN_SHARE, minDominance: PROBE_MIN_DOMINANCE },
    probes: results,
    images,
    settings: { shots: options.shots, seed: options.seed },
    failed,
    wallMs: Date.now() - started,
  };
}
