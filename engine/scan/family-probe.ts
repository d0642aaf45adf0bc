import type { ClipEncoder } from '../clip/clip-encoder.js';
import type { Dataset } from '../datasets/dataset.js';
import { ImageLoader } from '../datasets/image-loader.js';
import { sampleFewShot } from '../datasets/sampler.js';
import { VetbenchError } from '../errors.js';
import { argmaxRows, zeroShotClassifier } from '../eval/image-classifier.js';
import { normalizePixels } from '../image/preprocess.js';
import { resolveParams, type ParamValues } from '../methods/params.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import {
  decideProbe,
  PROBE_MIN_DOMINANCE,
  PROBE_MIN_EXCESS,
  PROBE_MIN_SHARE,
  type ProbeDecision,
} from './probe-decision.js';
import { DEFAULT_PROBES, type ProbeSpec } from './probe-ladder.js';
import type { ScanProgress } from './scan-progress.js';

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
  /**
   * A clean model of the same family to compare with: the same triggers go through it, and a class is only
   * flagged where the suspect sends far more images there than the reference does (PROBE_MIN_EXCESS).
   */
  readonly reference?: ClipEncoder;
  readonly batchSize?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: ScanProgress) => void;
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
  /** The share on the reference model under the same triggers, when one was given. */
  readonly referenceShare?: number;
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
  /** Every probe that flags a class, largest share first. */
  readonly flagged: readonly { readonly name: string; readonly probe: string; readonly share: number }[];
  /** The largest share any class takes under any probe. */
  readonly score: number;
  /** The decision rule; `minExcess` only applies with a reference model. */
  readonly rule: {
    readonly minShare: number;
    readonly minDominance: number;
    readonly minExcess: number | null;
  };
  /** Whether a reference model was compared with. */
  readonly referenced: boolean;
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
  if (options.reference && options.reference.weights.config.vision.imageResolution !== resolution) {
    throw new VetbenchError(
      'scan-reference-mismatch',
      `the reference model sees ${options.reference.weights.config.vision.imageResolution} px images, the scanned model ${resolution} px`,
      'Compare with a clean model of the same architecture (e.g. the upstream checkpoint the suspect was fine-tuned from).',
    );
  }
  const classifierOf = (model: ClipEncoder) => {
    const classifier = zeroShotClassifier(model, names);
    return async (pixels01: Float32Array, shape: readonly number[]): Promise<Int32Array> =>
      argmaxRows(
        await classifier.logits({
          data: normalizePixels(pixels01, new Float32Array(pixels01.length), resolution * resolution),
          shape,
        }),
      );
  };
  const predict = classifierOf(encoder);
  const predictReference = options.reference ? classifierOf(options.reference) : null;
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
    const refReached = names.map(() => 0);
    const refN = names.map(() => 0);
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
        if (predictReference)
          tally(b.labels, await predictReference(poisoned, b.pixels.shape), refReached, refN);
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
      ...(predictReference ? { referenceShare: refN[k]! ? refReached[k]! / refN[k]! : 0 } : {}),
    }));
    const referenceCounts = predictReference
      ? names.map((name, k) => ({ name, reached: refReached[k]!, n: refN[k]! }))
      : undefined;
    results.push({
      label: spec.label,
      family: spec.family.id,
      params,
      draws: spec.draws,
      perClass,
      decision: decideProbe(perClass, referenceCounts),
    });
  }
  const flagged = results
    .filter((r) => r.decision.flagged)
    .sort((a, b) => b.decision.top.share - a.decision.top.share);
  const first = flagged[0];
  return {
    verdict: first ? 'backdoor-suspected' : 'no-evidence',
    suspect: first
      ? {
          index: first.decision.top.index,
          name: first.decision.top.name,
          probe: first.label,
          share: first.decision.top.share,
        }
      : null,
    flagged: flagged.map((r) => ({ name: r.decision.top.name, probe: r.label, share: r.decision.top.share })),
    score: Math.max(...results.map((r) => r.decision.top.share)),
    rule: {
      minShare: PROBE_MIN_SHARE,
      minDominance: PROBE_MIN_DOMINANCE,
      minExcess: predictReference ? PROBE_MIN_EXCESS : null,
    },
    referenced: predictReference !== null,
    probes: results,
    images,
    settings: { shots: options.shots, seed: options.seed },
    failed,
    wallMs: Date.now() - started,
  };
}
