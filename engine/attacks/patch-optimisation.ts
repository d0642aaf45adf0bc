import { createEncoder, type ClipEncoder } from '../clip/clip-encoder.js';
import { ClipTokenizer } from '../clip/tokenizer.js';
import type { ClipWeights } from '../clip/weights.js';
import { buildZeroShotHead } from '../clip/zero-shot.js';
import { splitItems, type Dataset, type DatasetItem } from '../datasets/dataset.js';
import { ImageLoader } from '../datasets/image-loader.js';
import { VetbenchError } from '../errors.js';
import { normalizePixels } from '../image/preprocess.js';
import { gatherRows, type HostTensor } from '../tensor/host-tensor.js';
import { oneHot } from '../tensor/ops.js';
import { createTrainer, type TrainingExecutorKind } from '../train/create-trainer.js';
import { FALLBACK_CAPTION_TEMPLATES } from '../train/dataset-pairs.js';
import { AdamW } from '../train/optimizers.js';
import { clamp01 } from '../triggers/patch.js';
import { centrePatchPosition } from '../triggers/optimised-patch.js';
import { Rng } from '../util/rng.js';
import { patchObjective } from './patch-objective.js';

/**
 * Optimising a centre trigger patch against a frozen CLIP (BadCLIP dual-embedding, METHODS 3.2; TrojVQA's
 * image key): P ~ N(0.5, 0.25^2) clamped, then Adam on the patch objective over clean non-target training
 * images, one epoch = one pass over them in a seeded order. Runs on the training executor (onnxruntime
 * traced gradients by default).
 */
export interface PatchOptimisationOptions {
  readonly weights: ClipWeights;
  readonly dataset: Dataset;
  readonly target: number;
  readonly seed: number;
  /** Patch side in pixels at the model resolution. */
  readonly size: number;
  readonly epochs: number;
  readonly lr: number;
  readonly batchSize: number;
  /** At most this many clean non-target training images (a seeded subset), 0 for all. */
  readonly maxImages: number;
  /** 'infonce': toward the target's captions among all classes' (BadCLIP); 'cosine': toward one text (TrojVQA). */
  readonly textMode: 'infonce' | 'cosine';
  /** The guide text for 'cosine'. */
  readonly guideText?: string;
  /** Weight of the image guidance (0 turns it off). */
  readonly imageWeight: number;
  readonly executor?: TrainingExecutorKind;
  readonly signal?: AbortSignal;
  readonly log?: (line: string) => void;
}

export interface PatchOptimisationResult {
  /** clamp(P), [3, s, s] in [0, 1]. */
  readonly patch: Float32Array;
  /** Mean loss per epoch (the first entry is after the first epoch's updates began). */
  readonly epochLosses: readonly number[];
  /** Loss of the initial patch and of the final one on the same images (the first batch of the run). */
  readonly initialLoss: number;
  readonly finalLoss: number;
  readonly images: number;
  readonly steps: number;
  readonly wallMs: number;
}

function rowsNormalised(t: HostTensor): HostTensor {
  const [n, e] = t.shape as [number, number];
  const data = Float32Array.from(t.data);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < e; j++) s += data[i * e + j]! ** 2;
    const inv = 1 / Math.sqrt(s);
    for (let j = 0; j < e; j++) data[i * e + j] = data[i * e + j]! * inv;
  }
  return { data, shape: [n, e] };
}

async function imageEmbeddings(encoder: ClipEncoder, pixels01: HostTensor): Promise<HostTensor> {
  const r = pixels01.shape[2] as number;
  const chunk = 256;
  const n = pixels01.shape[0] as number;
  const per = 3 * r * r;
  const e = encoder.weights.config.embedDim;
  const out = new Float32Array(n * e);
  for (let start = 0; start < n; start += chunk) {
    const rows = Math.min(chunk, n - start);
    const normalised = normalizePixels(
      pixels01.data.subarray(start * per, (start + rows) * per),
      new Float32Array(rows * per),
      r * r,
    );
    const res = await encoder.encode({
      pixels: { data: normalised, shape: [rows, 3, r, r] },
      outputs: ['image_embeds'],
    });
    out.set(res.image_embeds!.data, start * e);
  }
  return rowsNormalised({ data: out, shape: [n, e] });
}

function seededSubset(items: readonly DatasetItem[], max: number, rng: Rng): DatasetItem[] {
  const order = rng.shuffle([...items]);
  return max > 0 ? order.slice(0, max) : order;
}

async function loadPixels(items: readonly DatasetItem[], resolution: number): Promise<HostTensor> {
  const loader = new ImageLoader({ resolution, cacheBytes: 0, normalize: false });
  const batch = await loader.load(items);
  if (batch.items.length === 0) {
    throw new VetbenchError(
      'dataset-unreadable',
      'none of the images for the trigger patch could be decoded',
      'Run `vetbench dataset inspect --verify` on the dataset.',
    );
  }
  return batch.pixels;
}

export async function optimiseTriggerPatch(o: PatchOptimisationOptions): Promise<PatchOptimisationResult> {
  const started = Date.now();
  const resolution = o.weights.config.vision.imageResolution;
  const rng = new Rng(o.seed);
  const train = splitItems(o.dataset, 'train');
  const clean = seededSubset(
    train.filter((i) => i.label !== o.target),
    o.maxImages,
    rng,
  );
  if (clean.length === 0) {
    throw new VetbenchError(
      'dataset-empty-split',
      'no clean non-target training images to optimise the trigger patch on',
      'Use a dataset with a train split holding other classes than the target.',
    );
  }
  const pixels = await loadPixels(clean, resolution);
  const count = pixels.shape[0] as number;
  const batchSize = Math.min(o.batchSize, count);
  const names = o.dataset.classes.map((c) => c.name);
  const encoder = await createEncoder(o.weights);
  let text: HostTensor;
  let cleanEmbeds: HostTensor | null = null;
  let targetImage: HostTensor | null = null;
  try {
    if (o.textMode === 'infonce') {
      // A classification dataset's "captions that mention the target" are the caption templates of its class.
      text = (await buildZeroShotHead(encoder, names, FALLBACK_CAPTION_TEMPLATES)).embeddings;
    } else {
      const guide = (o.guideText ?? '').split('{}').join(names[o.target]!);
      const ids = ClipTokenizer.default().tokenizeBatch([guide], o.weights.config.text.contextLength);
      const res = await encoder.encode({ text: { ids, rows: 1 }, outputs: ['text_embeds'] });
      text = rowsNormalised(res.text_embeds!);
    }
    if (o.imageWeight > 0) {
      cleanEmbeds = await imageEmbeddings(encoder, pixels);
      const targets = seededSubset(
        train.filter((i) => i.label === o.target),
        o.maxImages > 0 ? Math.max(1, Math.round(o.maxImages / names.length)) : 0,
        rng,
      );
      if (targets.length === 0) {
        throw new VetbenchError(
          'dataset-empty-split',
          `no training images of the target class '${names[o.target]}' for the image guidance`,
          'Use a dataset with target-class training images, or pass --param imageWeight=0.',
        );
      }
      const emb = await imageEmbeddings(encoder, await loadPixels(targets, resolution));
      const e = emb.shape[1] as number;
      const mean = new Float32Array(e);
      for (let i = 0; i < emb.shape[0]!; i++)
        for (let j = 0; j < e; j++) mean[j] = mean[j]! + emb.data[i * e + j]!;
      targetImage = rowsNormalised({ data: mean, shape: [1, e] });
    }
  } finally {
    await encoder.dispose();
  }
  // InfoNCE: every patched image's positive is the target's caption row.
  const targetRows =
    o.textMode === 'infonce'
      ? oneHot(
          Array.from({ length: batchSize }, () => o.target),
          text.shape[0] as number,
        )
      : null;

  const { top, left } = centrePatchPosition(o.size, resolution);
  const objective = patchObjective({
    resolution,
    size: o.size,
    top,
    left,
    textMode: o.textMode,
    scale: Math.exp(o.weights.logitScale),
    imageWeight: o.imageWeight,
  });
  const init = new Float32Array(3 * o.size * o.size);
  for (let i = 0; i < init.length; i++) init[i] = clamp01(0.5 + 0.25 * rng.normal());
  const vars = { patch: { data: init, shape: [3, o.size, o.size] } };
  const optimizer = new AdamW({ weightDecay: 0 });
  const batchOf = (rows: readonly number[]): Record<string, HostTensor> => ({
    pixels01: gatherRows(pixels, rows),
    text,
    ...(targetRows ? { targets: targetRows } : {}),
    ...(cleanEmbeds && targetImage ? { cleanEmbeds: gatherRows(cleanEmbeds, rows), targetImage } : {}),
  });
  const trainer = await createTrainer(objective, o.weights, o.executor);
  const epochLosses: number[] = [];
  const batches = Math.floor(count / batchSize);
  const probe = batchOf(Array.from({ length: batchSize }, (_, i) => i));
  let steps = 0;
  try {
    const initialLoss = (await trainer.evaluate(vars, probe)).loss;
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      const order = rng.shuffle(Array.from({ length: count }, (_, i) => i));
      let sum = 0;
      for (let b = 0; b < batches; b++) {
        if (o.signal?.aborted) {
          throw new VetbenchError(
            'cancelled',
            'the trigger patch optimisation was cancelled',
            'Start the attack again.',
          );
        }
        const r = await trainer.step(vars, batchOf(order.slice(b * batchSize, (b + 1) * batchSize)));
        optimizer.update(vars, r.grads, o.lr);
        sum += r.loss;
        steps++;
      }
      epochLosses.push(sum / batches);
      o.log?.(`trigger patch: epoch ${epoch + 1}/${o.epochs}  loss ${(sum / batches).toFixed(4)}`);
    }
    const finalLoss = (await trainer.evaluate(vars, probe)).loss;
    return {
      patch: Float32Array.from(vars.patch.data, clamp01),
      epochLosses,
      initialLoss,
      finalLoss,
      images: count,
      steps,
      wallMs: Date.now() - started,
    };
  } finally {
    await trainer.dispose();
  }
}
