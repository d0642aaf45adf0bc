import type { TensorOps } from '../tensor/ops.js';
import type { ClipParams } from './clip-forward.js';
import type { ClipConfig } from './config.js';

/**
 * OpenAI's ModifiedResNet image tower (clip/model.py), written against TensorOps so it runs on both
 * executors with gradients: a three-convolution stem with an average pool, Bottlenecks whose stride is an
 * average pool before the last 1x1 convolution (anti-aliasing; the shortcut pools too), BatchNorm with the
 * running statistics (eval mode), and an attention pool whose query is the mean of the feature map.
 *
 * Feature maps stay channels-last [N, H, W, C] inside the tower, so a 1x1 convolution is a linear layer on
 * the last axis and a 3x3 one is the same linear layer on the nine shifted copies concatenated
 * (im2col from slices): the existing ops (slice, concat, reshape, linear, mean) and their gradients on both
 * executors are all it needs; no Conv/AveragePool node has to be added to the ONNX autodiff.
 */

const BATCH_NORM_EPS = 1e-5;

interface Graph<T> {
  readonly ops: TensorOps<T>;
  readonly params: ClipParams<T>;
}

/** A PyTorch conv kernel [O, C, k, k] as the [O, k*k*C] weight of the im2col linear layer (order dy, dx, c). */
function convWeight<T>(g: Graph<T>, name: string): { weight: T; kernel: number } {
  const kernelTensor = g.params.get(name);
  const [out, channels, kernel] = g.ops.shape(kernelTensor) as [number, number, number, number];
  const weight =
    kernel === 1
      ? g.ops.reshape(kernelTensor, [out, channels])
      : g.ops.reshape(g.ops.transpose(kernelTensor, [0, 2, 3, 1]), [out, kernel * kernel * channels]);
  return { weight, kernel };
}

/** Every second row and column from offset 0: [N, H, W, C] -> [N, H/2, W/2, C]. */
function subsample2<T>(ops: TensorOps<T>, x: T): T {
  const [n, h, w, c] = ops.shape(x) as [number, number, number, number];
  const grid = ops.reshape(x, [n, h / 2, 2, w / 2, 2, c]);
  return ops.reshape(ops.slice(grid, [0, 0, 0, 0, 0, 0], [n, h / 2, 1, w / 2, 1, c]), [n, h / 2, w / 2, c]);
}

/** Zero padding of one pixel on each side of H and W. */
function pad1<T>(ops: TensorOps<T>, x: T): T {
  const [n, h, w, c] = ops.shape(x) as [number, number, number, number];
  const zeros = (shape: number[]) =>
    ops.constant({ data: new Float32Array(shape.reduce((a, b) => a * b, 1)), shape });
  const rows = ops.concat([zeros([n, 1, w, c]), x, zeros([n, 1, w, c])], 1);
  return ops.concat([zeros([n, h + 2, 1, c]), rows, zeros([n, h + 2, 1, c])], 2);
}

/** Bias-free convolution (kernel 1 or 3 with padding 1; stride 1 or 2) on channels-last maps. */
export function conv2d<T>(g: Graph<T>, x: T, name: string, stride: 1 | 2 = 1): T {
  const { ops } = g;
  const { weight, kernel } = convWeight(g, name);
  if (kernel === 1) return ops.linear(stride === 2 ? subsample2(ops, x) : x, weight, null);
  if (kernel !== 3) throw new Error(`conv2d: kernel ${kernel} of '${name}' (ModifiedResNet uses 1 and 3)`);
  const [n, h, w, c] = ops.shape(x) as [number, number, number, number];
  const padded = pad1(ops, x);
  const shifted: T[] = [];
  for (let dy = 0; dy < 3; dy++) {
    for (let dx = 0; dx < 3; dx++) {
      const view = ops.slice(padded, [0, dy, dx, 0], [n, h, w, c]);
      shifted.push(stride === 2 ? subsample2(ops, view) : view);
    }
  }
  return ops.linear(ops.concat(shifted, 3), weight, null);
}

/** BatchNorm in eval mode: (x - running_mean) / sqrt(running_var + eps) * weight + bias, over the last axis. */
export function batchNorm<T>(g: Graph<T>, x: T, prefix: string): T {
  const { ops, params: p } = g;
  const scale = ops.div(
    p.get(`${prefix}.weight`),
    ops.sqrt(ops.add(p.get(`${prefix}.running_var`), ops.scalar(BATCH_NORM_EPS))),
  );
  return ops.add(ops.mul(ops.sub(x, p.get(`${prefix}.running_mean`)), scale), p.get(`${prefix}.bias`));
}

/** AvgPool2d(k) with stride k on channels-last maps (H and W divisible by k). */
export function avgPool<T>(ops: TensorOps<T>, x: T, k: number): T {
  if (k === 1) return x;
  const [n, h, w, c] = ops.shape(x) as [number, number, number, number];
  if (h % k !== 0 || w % k !== 0) throw new Error(`avgPool: a ${h}x${w} map does not divide into ${k}x${k}`);
  return ops.mean(ops.reshape(x, [n, h / k, k, w / k, k, c]), [2, 4]);
}

function bottleneck<T>(g: Graph<T>, x: T, prefix: string, stride: number, hasDownsample: boolean): T {
  const { ops } = g;
  let out = ops.relu(batchNorm(g, conv2d(g, x, `${prefix}.conv1.weight`), `${prefix}.bn1`));
  out = ops.relu(batchNorm(g, conv2d(g, out, `${prefix}.conv2.weight`), `${prefix}.bn2`));
  out = avgPool(ops, out, stride);
  out = batchNorm(g, conv2d(g, out, `${prefix}.conv3.weight`), `${prefix}.bn3`);
  const identity = hasDownsample
    ? batchNorm(
        g,
        conv2d(g, avgPool(ops, x, stride), `${prefix}.downsample.0.weight`),
        `${prefix}.downsample.1`,
      )
    : x;
  return ops.relu(ops.add(out, identity));
}

export interface ResNetResult<T> {
  /** encode_image output [N, E]. */
  readonly embeds: T;
  /** layer4's output [N, H, W, C] (channels last), the map Grad-CAM uses. */
  readonly layer4: T;
}

/** The attention pool: query = mean token, keys/values = mean + every position, with positions added. */
function attentionPool<T>(g: Graph<T>, map: T, heads: number): T {
  const { ops, params: p } = g;
  const [n, h, w, c] = ops.shape(map) as [number, number, number, number];
  const tokens = ops.reshape(map, [n, h * w, c]);
  const seq = ops.add(
    ops.concat([ops.mean(tokens, [1], true), tokens], 1),
    p.get('visual.attnpool.positional_embedding'),
  );
  const length = h * w + 1;
  const headDim = c / heads;
  const query = ops.slice(seq, [0, 0, 0], [n, 1, c]);
  const q = ops.mul(
    ops.linear(query, p.get('visual.attnpool.q_proj.weight'), p.get('visual.attnpool.q_proj.bias')),
    ops.scalar(1 / Math.sqrt(headDim)),
  );
  const k = ops.linear(seq, p.get('visual.attnpool.k_proj.weight'), p.get('visual.attnpool.k_proj.bias'));
  const v = ops.linear(seq, p.get('visual.attnpool.v_proj.weight'), p.get('visual.attnpool.v_proj.bias'));
  const qh = ops.transpose(ops.reshape(q, [n, 1, heads, headDim]), [0, 2, 1, 3]); // [N, H, 1, d]
  const kt = ops.transpose(ops.reshape(k, [n, length, heads, headDim]), [0, 2, 3, 1]); // [N, H, d, L]
  const vh = ops.transpose(ops.reshape(v, [n, length, heads, headDim]), [0, 2, 1, 3]); // [N, H, L, d]
  const attention = ops.softmax(ops.matMul(qh, kt));
  const context = ops.reshape(ops.transpose(ops.matMul(attention, vh), [0, 2, 1, 3]), [n, c]);
  return ops.linear(context, p.get('visual.attnpool.c_proj.weight'), p.get('visual.attnpool.c_proj.bias'));
}

/** encode_image of a ModifiedResNet CLIP; pixels [N, 3, R, R] (normalised, channels first as everywhere). */
export function encodeImageResNet<T>(
  g: Graph<T> & { readonly config: ClipConfig },
  pixels: T,
  hooks: { readonly layer4?: (map: T) => T } = {},
): ResNetResult<T> {
  const { ops, config } = g;
  const resnet = config.vision.resnet;
  if (!resnet) throw new Error('encodeImageResNet: the model has a ViT image tower');
  const r = config.vision.imageResolution;
  const shape = ops.shape(pixels);
  if (shape.length !== 4 || shape[1] !== 3 || shape[2] !== r || shape[3] !== r) {
    throw new Error(`pixels have shape [${shape.join(', ')}]; this model needs [N, 3, ${r}, ${r}]`);
  }
  let x = ops.transpose(pixels, [0, 2, 3, 1]);
  x = ops.relu(batchNorm(g, conv2d(g, x, 'visual.conv1.weight', 2), 'visual.bn1'));
  x = ops.relu(batchNorm(g, conv2d(g, x, 'visual.conv2.weight'), 'visual.bn2'));
  x = ops.relu(batchNorm(g, conv2d(g, x, 'visual.conv3.weight'), 'visual.bn3'));
  x = avgPool(ops, x, 2);
  resnet.stageBlocks.forEach((blocks, stage) => {
    for (let i = 0; i < blocks; i++) {
      // The first Bottleneck of each stage changes the width (and from layer2 on, the stride): it alone
      // has a projection shortcut.
      const stride = stage > 0 && i === 0 ? 2 : 1;
      x = bottleneck(g, x, `visual.layer${stage + 1}.${i}`, stride, i === 0);
    }
  });
  // A probe (Grad-CAM) may replace layer4's output by a function of it before the attention pool.
  if (hooks.layer4) x = hooks.layer4(x);
  return { embeds: attentionPool(g, x, config.vision.heads), layer4: x };
}
