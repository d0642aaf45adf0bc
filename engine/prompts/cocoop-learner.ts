import { ClipTokenizer } from '../clip/tokenizer.js';
import type { ClipWeights } from '../clip/weights.js';
import { VetbenchError } from '../errors.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import type { Rng } from '../util/rng.js';

/**
 * A CoCoOp prompt learner (Zhou et al. CVPR'22; METHODS 1.6, 3.3): M context vectors [M, W_text] shared by all
 * classes, plus a meta-net Linear(E, E/16) -> ReLU -> Linear(E/16, W_text) that reads the unit image feature
 * and whose output is added to every context vector. The class prompt is "X X ... X <class>." with the M
 * placeholders replaced by (context + meta-net(image)), so each image gets its own text head.
 * Tensor names are the prompt file's (engine/prompts/prompt-file.ts, kind `cocoop`).
 */
export const COCOOP_TENSORS = {
  context: 'context',
  linear1Weight: 'meta.linear1.weight',
  linear1Bias: 'meta.linear1.bias',
  linear2Weight: 'meta.linear2.weight',
  linear2Bias: 'meta.linear2.bias',
} as const;

export type CocoopTensors = Record<(typeof COCOOP_TENSORS)[keyof typeof COCOOP_TENSORS], HostTensor>;

/** Hidden width of the meta-net: E / 16 as in CoCoOp, at least 1. */
export function metaNetHidden(embedDim: number): number {
  return Math.max(1, Math.floor(embedDim / 16));
}

/** PyTorch nn.Linear's default init: weight and bias ~ U(-1/sqrt(in), 1/sqrt(in)). */
function linearInit(out: number, inputs: number, rng: Rng): { weight: HostTensor; bias: HostTensor } {
  const bound = 1 / Math.sqrt(inputs);
  const weight = new Float32Array(out * inputs);
  for (let i = 0; i < weight.length; i++) weight[i] = rng.range(-bound, bound);
  const bias = new Float32Array(out);
  for (let i = 0; i < bias.length; i++) bias[i] = rng.range(-bound, bound);
  return { weight: { data: weight, shape: [out, inputs] }, bias: { data: bias, shape: [out] } };
}

/**
 * A fresh learner: the context vectors are the token embeddings of `initText` (CoCoOp: "a photo of a", so M = 4
 * and the initial prompt reads "a photo of a <class>."), the meta-net PyTorch-initialised from `rng`.
 */
export function initCocoopLearner(weights: ClipWeights, initText: string, rng: Rng): CocoopTensors {
  const { contextLength, width } = weights.config.text;
  const ids = ClipTokenizer.default().tokenizeBatch([initText], contextLength);
  // ids: [SOT, tokens..., EOT, 0...]; the context is everything between SOT and EOT.
  const tokens: number[] = [];
  for (let j = 1; j < contextLength && ids[j] !== 49407 && ids[j] !== 0; j++) tokens.push(ids[j]!);
  if (tokens.length === 0) {
    throw new VetbenchError(
      'param-invalid',
      `the context initialisation text '${initText}' has no tokens`,
      "Pass a short phrase, e.g. --param ctxInit='a photo of a'.",
    );
  }
  const table = weights.tensors.get('token_embedding.weight');
  if (!table) throw new Error('the model has no token_embedding.weight');
  const context = new Float32Array(tokens.length * width);
  tokens.forEach((id, m) => context.set(table.data.subarray(id * width, (id + 1) * width), m * width));
  const hidden = metaNetHidden(weights.config.embedDim);
  const l1 = linearInit(hidden, weights.config.embedDim, rng);
  const l2 = linearInit(width, hidden, rng);
  return {
    context: { data: context, shape: [tokens.length, width] },
    'meta.linear1.weight': l1.weight,
    'meta.linear1.bias': l1.bias,
    'meta.linear2.weight': l2.weight,
    'meta.linear2.bias': l2.bias,
  };
}

/** The meta-net on the host: [N, E] unit features -> [N, W_text] context shifts. */
export function metaNetForward(
  features: HostTensor,
  learner: Readonly<Record<string, HostTensor>>,
): HostTensor {
  const [n, e] = features.shape as [number, number];
  const w1 = learner[COCOOP_TENSORS.linear1Weight]!;
  const b1 = learner[COCOOP_TENSORS.linear1Bias]!;
  const w2 = learner[COCOOP_TENSORS.linear2Weight]!;
  const b2 = learner[COCOOP_TENSORS.linear2Bias]!;
  const h = w1.shape[0] as number;
  const w = w2.shape[0] as number;
  const out = new Float32Array(n * w);
  const hidden = new Float64Array(h);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < h; k++) {
      let s = b1.data[k]!;
      for (let j = 0; j < e; j++) s += w1.data[k * e + j]! * features.data[i * e + j]!;
      hidden[k] = s > 0 ? s : 0;
    }
    for (let o = 0; o < w; o++) {
      let s = b2.data[o]!;
      for (let k = 0; k < h; k++) s += w2.data[o * h + k]! * hidden[k]!;
      out[i * w + o] = s;
    }
  }
  return { data: out, shape: [n, w] };
}
