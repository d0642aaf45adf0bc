import type { ClipEncoder } from '../clip/clip-encoder.js';
import { normalizePixels } from '../image/preprocess.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import type { Perturbation } from './perturbations/perturbation.js';

/**
 * Perturbation resistivity (METHODS 2.3): PR_d = mean over images of cos(CLS_d(x), CLS_d(x + delta)), with
 * CLS_d the class token of the residual stream after block d (d = 0..L-1). A backdoored model lets a trigger
 * move the class token far from the clean one in the last blocks; a hardened one resists (RVPT's premise).
 */

export interface PrBatch {
  /** [N, 3, R, R] in [0, 1]. */
  readonly pixels01: HostTensor;
  /** Stable key per image (relative path): seeded perturbations depend on it. */
  readonly keys: readonly string[];
}

export interface PrRow {
  readonly id: string;
  readonly title: string;
  /** PR_d for d = 0..L-1. */
  readonly pr: readonly number[];
  /** Standard deviation of the per-image cosine, per layer. */
  readonly sd: readonly number[];
}

export interface PrResult {
  readonly layers: number;
  readonly images: number;
  readonly rows: readonly PrRow[];
}

/**
 * Per-layer cosine of each image's clean and perturbed class tokens. Inputs are the encoder's
 * `vision_cls_per_layer` [N, L+1, W] (index 0 is after ln_pre); returns [N, L] for blocks 0..L-1.
 */
export function classTokenCosines(clean: HostTensor, perturbed: HostTensor): HostTensor {
  const [n, k, w] = clean.shape as [number, number, number];
  if (perturbed.shape.join() !== clean.shape.join()) {
    throw new Error(
      `classTokenCosines: shapes [${clean.shape.join(', ')}] and [${perturbed.shape.join(', ')}] differ`,
    );
  }
  const out = new Float32Array(n * (k - 1));
  for (let i = 0; i < n; i++) {
    for (let d = 1; d < k; d++) {
      const base = (i * k + d) * w;
      let dot = 0;
      let na = 0;
      let nb = 0;
      for (let j = 0; j < w; j++) {
        const a = clean.data[base + j]!;
        const b = perturbed.data[base + j]!;
        dot += a * b;
        na += a * a;
        nb += b * b;
      }
      out[i * (k - 1) + d - 1] = dot / (Math.sqrt(na * nb) || 1);
    }
  }
  return { data: out, shape: [n, k - 1] };
}

/** Mean and (population) standard deviation per column of [N, L] values. */
export function columnStats(values: readonly HostTensor[]): { mean: number[]; sd: number[]; n: number } {
  const layers = (values[0]?.shape[1] ?? 0) as number;
  const sum = new Float64Array(layers);
  const sq = new Float64Array(layers);
  let n = 0;
  for (const v of values) {
    const rows = v.shape[0] as number;
    n += rows;
    for (let i = 0; i < rows; i++) {
      for (let d = 0; d < layers; d++) {
        const x = v.data[i * layers + d]!;
        sum[d]! += x;
        sq[d]! += x * x;
      }
    }
  }
  const mean = Array.from(sum, (s) => s / n);
  const sd = Array.from(sq, (s, d) => Math.sqrt(Math.max(0, s / n - mean[d]! ** 2)));
  return { mean, sd, n };
}

export interface PrOptions {
  /** Deep visual prompts (a hardened prompt file of kind visual-deep). */
  readonly prompts?: { readonly depth: number; readonly tensors: HostTensor } | null;
  readonly progress?: (images: number) => void;
}

function normalized(pixels01: Float32Array, r: number): Float32Array {
  return normalizePixels(pixels01, new Float32Array(pixels01.length), r * r);
}

export async function perturbationResistivity(
  encoder: ClipEncoder,
  batches: AsyncIterable<PrBatch>,
  perturbations: readonly Perturbation[],
  options: PrOptions = {},
): Promise<PrResult> {
  const cosines: HostTensor[][] = perturbations.map(() => []);
  const prompts = options.prompts ? { prompts: options.prompts } : {};
  let images = 0;
  for await (const batch of batches) {
    const r = batch.pixels01.shape[2] as number;
    const encode = async (pixels01: Float32Array): Promise<HostTensor> =>
      (
        await encoder.encode({
          pixels: { data: normalized(pixels01, r), shape: batch.pixels01.shape },
          ...prompts,
          outputs: ['vision_cls_per_layer'],
        })
      ).vision_cls_per_layer!;
    const clean = await encode(batch.pixels01.data);
    for (const [k, p] of perturbations.entries()) {
      const perturbed = Float32Array.from(batch.pixels01.data);
      await p.apply(perturbed, batch.keys, r);
      cosines[k]!.push(classTokenCosines(clean, await encode(perturbed)));
    }
    images += batch.keys.length;
    options.progress?.(images);
  }
  const layers = encoder.weights.config.vision.layers;
  return {
    layers,
    images,
    rows: perturbations.map((p, k) => {
      const { mean, sd } = columnStats(cosines[k]!);
      return { id: p.id, title: p.title, pr: mean, sd };
    }),
  };
}
