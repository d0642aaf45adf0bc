import { l2Normalize, quickGelu, type TensorOps } from '../tensor/ops.js';
import { VetbenchError } from '../errors.js';
import { gridSize, LAYER_NORM_EPS, type ClipConfig } from './config.js';
import { encodeImageResNet } from './resnet-forward.js';

/**
 * CLIP ViT forward pass (METHODS 1.1, 1.6), written once against TensorOps so it runs eagerly on TF.js and
 * traces into ONNX. Parameters come by canonical OpenAI name; PATCH_WEIGHT is the conv kernel flattened to
 * [W, 3*p*p] so the patch embedding is a plain linear layer.
 */
export const PATCH_WEIGHT = 'visual.conv1.weight.flat';

export interface ClipParams<T> {
  get(name: string): T;
}

export interface ClipGraph<T> {
  readonly ops: TensorOps<T>;
  readonly params: ClipParams<T>;
  readonly config: ClipConfig;
  /**
   * How token ids enter the program. By default they are constants (gathered rows and a one-hot end-of-text
   * mask); a traced graph instead reads them from graph inputs so one session serves any texts of that shape.
   * Returning null keeps the default for that input (texts fixed for the whole run).
   */
  readonly tokens?: (input: TextInput) => TokenTensors<T> | null;
}

/** Token embeddings [T, ctx, W] and the end-of-text selection mask [T, ctx, 1]. */
export interface TokenTensors<T> {
  readonly embeddings: T;
  readonly eotMask: T;
}

/** Deep visual prompts: `tensors` [L-D, b, W] enter before blocks D..L-1. */
export interface DeepPrompts<T> {
  readonly depth: number;
  readonly tensors: T;
}

export interface VisionOptions<T> {
  readonly prompts?: DeepPrompts<T>;
  /** Keep the class token after ln_pre and after every block. */
  readonly collectCls?: boolean;
  /** Keep attention weights of the last block, or of all blocks. */
  readonly collectAttention?: 'none' | 'last' | 'all';
  /** Keep the token sequence after every block (Grad-CAM needs the patch tokens). */
  readonly collectTokens?: boolean;
}

export interface VisionResult<T> {
  /** encode_image output, before normalisation [N, E]. */
  readonly embeds: T;
  /** [N, W] each: index 0 after ln_pre, index d+1 after block d. */
  readonly cls: T[];
  /** [N, heads, T, T] per collected block. */
  readonly attentions: T[];
  /** [N, T, W] after each block, when collected. */
  readonly tokens: T[];
  /** ResNet towers only: layer4's feature map [N, H, W, C] (channels last). */
  readonly layer4?: T;
}

/** For methods that work on image tokens or blocks of a ViT (visual prompts, attention maps). */
export function requireViT(config: ClipConfig, what: string): void {
  if (config.vision.resnet) {
    throw new VetbenchError(
      'needs-vit',
      `${what} needs a ViT image tower (it works on image tokens); this model has a ResNet image tower`,
      'Use a ViT CLIP for this method; on ResNet CLIP use CBPT, fine-tuning, CleanCLIP, linear probing, scans or Grad-CAM.',
    );
  }
}

interface BlockOptions<T> {
  readonly mask: T | null;
  readonly collect: boolean;
}

function ones<T>(ops: TensorOps<T>, shape: readonly number[]): T {
  return ops.constant({ data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(1), shape });
}

/** Pre-norm residual attention block; returns the new stream and (when asked) the attention weights. */
export function residualBlock<T>(
  g: ClipGraph<T>,
  prefix: string,
  heads: number,
  x: T,
  options: BlockOptions<T>,
): { out: T; attention: T | null } {
  const { ops, params: p } = g;
  const [n, tokens, width] = ops.shape(x) as [number, number, number];
  const headDim = width / heads;
  const h = ops.layerNorm(x, p.get(`${prefix}.ln_1.weight`), p.get(`${prefix}.ln_1.bias`), LAYER_NORM_EPS);
  const qkv = ops.linear(h, p.get(`${prefix}.attn.in_proj_weight`), p.get(`${prefix}.attn.in_proj_bias`));
  const [q, k, v] = ops.split(qkv, [width, width, width], 2) as [T, T, T];
  const toHeads = (t: T, perm: readonly number[]): T =>
    ops.transpose(ops.reshape(t, [n, tokens, heads, headDim]), perm);
  const qh = toHeads(ops.mul(q, ops.scalar(1 / Math.sqrt(headDim))), [0, 2, 1, 3]);
  const kt = toHeads(k, [0, 2, 3, 1]); // [N, H, d, T]: plain product, no transposed operand
  const vh = toHeads(v, [0, 2, 1, 3]);
  let scores = ops.matMul(qh, kt);
  if (options.mask) scores = ops.add(scores, options.mask);
  const attention = ops.softmax(scores);
  const context = ops.reshape(ops.transpose(ops.matMul(attention, vh), [0, 2, 1, 3]), [n, tokens, width]);
  const attnOut = ops.linear(
    context,
    p.get(`${prefix}.attn.out_proj.weight`),
    p.get(`${prefix}.attn.out_proj.bias`),
  );
  const x1 = ops.add(x, attnOut);
  const h2 = ops.layerNorm(x1, p.get(`${prefix}.ln_2.weight`), p.get(`${prefix}.ln_2.bias`), LAYER_NORM_EPS);
  const fc = quickGelu(
    ops,
    ops.linear(h2, p.get(`${prefix}.mlp.c_fc.weight`), p.get(`${prefix}.mlp.c_fc.bias`)),
  );
  const mlp = ops.linear(fc, p.get(`${prefix}.mlp.c_proj.weight`), p.get(`${prefix}.mlp.c_proj.bias`));
  return { out: ops.add(x1, mlp), attention: options.collect ? attention : null };
}

/** Patch embedding, class token, positions, ln_pre: the sequence before block 0 [N, 1+g^2, W]. */
export function visionStem<T>(g: ClipGraph<T>, pixels: T): T {
  const { ops, params: p, config } = g;
  const { width, patchSize: patch } = config.vision;
  const grid = gridSize(config.vision);
  const [n, channels, height, widthPx] = ops.shape(pixels) as [number, number, number, number];
  if (
    channels !== 3 ||
    height !== config.vision.imageResolution ||
    widthPx !== config.vision.imageResolution
  ) {
    throw new Error(
      `pixels have shape [${ops.shape(pixels).join(', ')}]; this model needs [N, 3, ${config.vision.imageResolution}, ${config.vision.imageResolution}]`,
    );
  }
  // [N,3,g,p,g,p] -> [N,g*g,3*p*p] with two rank-4 transposes (rank-5/6 transposes are slow on wasm).
  const a = ops.transpose(ops.reshape(pixels, [n * 3 * grid, patch, grid, patch]), [0, 2, 1, 3]);
  const b = ops.transpose(ops.reshape(a, [n, 3, grid * grid, patch * patch]), [0, 2, 1, 3]);
  const patches = ops.linear(ops.reshape(b, [n, grid * grid, 3 * patch * patch]), p.get(PATCH_WEIGHT), null);
  const cls = ops.mul(ones(ops, [n, 1, 1]), ops.reshape(p.get('visual.class_embedding'), [1, 1, width]));
  const seq = ops.add(ops.concat([cls, patches], 1), p.get('visual.positional_embedding'));
  return ops.layerNorm(seq, p.get('visual.ln_pre.weight'), p.get('visual.ln_pre.bias'), LAYER_NORM_EPS);
}

/** Replaces the prompt slots before block `block` (METHODS 1.6): keep class+patch tokens, append fresh prompts. */
export function insertPrompts<T>(g: ClipGraph<T>, x: T, prompts: DeepPrompts<T>, block: number): T {
  const { ops, config } = g;
  const [n, , width] = ops.shape(x) as [number, number, number];
  const [, promptLen] = ops.shape(prompts.tensors) as [number, number, number];
  const base = 1 + gridSize(config.vision) ** 2;
  const kept = ops.slice(x, [0, 0, 0], [n, base, width]);
  const prompt = ops.reshape(
    ops.slice(prompts.tensors, [block - prompts.depth, 0, 0], [1, promptLen, width]),
    [1, promptLen, width],
  );
  return ops.concat([kept, ops.mul(ones(ops, [n, 1, 1]), prompt)], 1);
}

export function classToken<T>(ops: TensorOps<T>, x: T): T {
  const [n, , width] = ops.shape(x) as [number, number, number];
  return ops.reshape(ops.slice(x, [0, 0, 0], [n, 1, width]), [n, width]);
}

/** Runs vision blocks [from, to) on a stream, with prompts where their depth says. */
export function visionBlocks<T>(
  g: ClipGraph<T>,
  x: T,
  from: number,
  to: number,
  options: VisionOptions<T>,
  sink: { cls: T[]; attentions: T[]; tokens: T[] },
): T {
  const { ops, config } = g;
  const collectAttention = options.collectAttention ?? 'none';
  let stream = x;
  for (let i = from; i < to; i++) {
    if (options.prompts && i >= options.prompts.depth) stream = insertPrompts(g, stream, options.prompts, i);
    const collect =
      collectAttention === 'all' || (collectAttention === 'last' && i === config.vision.layers - 1);
    const { out, attention } = residualBlock(
      g,
      `visual.transformer.resblocks.${i}`,
      config.vision.heads,
      stream,
      {
        mask: null,
        collect,
      },
    );
    stream = out;
    if (attention) sink.attentions.push(attention);
    if (options.collectCls) sink.cls.push(classToken(ops, stream));
    if (options.collectTokens) sink.tokens.push(stream);
  }
  return stream;
}

/** ln_post of the class token, then the projection: encode_image. */
export function visionHead<T>(g: ClipGraph<T>, x: T): T {
  const { ops, params: p } = g;
  const cls = ops.layerNorm(
    classToken(ops, x),
    p.get('visual.ln_post.weight'),
    p.get('visual.ln_post.bias'),
    LAYER_NORM_EPS,
  );
  return ops.matMul(cls, p.get('visual.proj'));
}

export function encodeImage<T>(g: ClipGraph<T>, pixels: T, options: VisionOptions<T> = {}): VisionResult<T> {
  if (g.config.vision.resnet) {
    if (options.prompts) requireViT(g.config, 'Deep visual prompts');
    const { embeds, layer4 } = encodeImageResNet(g, pixels);
    return { embeds, cls: [], attentions: [], tokens: [], layer4 };
  }
  const sink = { cls: [] as T[], attentions: [] as T[], tokens: [] as T[] };
  const stem = visionStem(g, pixels);
  if (options.collectCls) sink.cls.push(classToken(g.ops, stem));
  if (options.prompts) validatePrompts(g, options.prompts);
  const last = visionBlocks(g, stem, 0, g.config.vision.layers, options, sink);
  return { embeds: visionHead(g, last), ...sink };
}

function validatePrompts<T>(g: ClipGraph<T>, prompts: DeepPrompts<T>): void {
  const { layers, width } = g.config.vision;
  const shape = g.ops.shape(prompts.tensors);
  if (!Number.isInteger(prompts.depth) || prompts.depth < 0 || prompts.depth >= layers) {
    throw new Error(`prompt depth ${prompts.depth} must be in 0..${layers - 1}`);
  }
  if (shape.length !== 3 || shape[0] !== layers - prompts.depth || shape[2] !== width) {
    throw new Error(
      `visual prompts have shape [${shape.join(', ')}]; depth ${prompts.depth} on this model needs [${layers - prompts.depth}, b, ${width}]`,
    );
  }
}

/** Text context vectors (CoOp / class-wise): [M, W] shared or [T, M, W] one set per text row. */
export interface TextContext<T> {
  readonly vectors: T;
}

export interface TextInput {
  /** [T * contextLength] token ids, zero padded. */
  readonly ids: Int32Array;
  readonly rows: number;
}

/** Position of the largest id per row (the end-of-text token), as a one-hot selection mask [T, ctx, 1]. */
export function endOfTextMask(input: TextInput, contextLength: number): Float32Array {
  const mask = new Float32Array(input.rows * contextLength);
  for (let r = 0; r < input.rows; r++) {
    let best = 0;
    for (let j = 1; j < contextLength; j++) {
      if ((input.ids[r * contextLength + j] as number) > (input.ids[r * contextLength + best] as number))
        best = j;
    }
    mask[r * contextLength + best] = 1;
  }
  return mask;
}

export function causalMask(length: number): Float32Array {
  // -1e9 instead of -inf: exp underflows to exactly 0 in float32 and backward passes stay NaN-free.
  const mask = new Float32Array(length * length);
  for (let i = 0; i < length; i++) for (let j = i + 1; j < length; j++) mask[i * length + j] = -1e9;
  return mask;
}

function constantTokens<T>(g: ClipGraph<T>, input: TextInput): TokenTensors<T> {
  const contextLength = g.config.text.contextLength;
  return {
    embeddings: g.ops.gatherRows(g.params.get('token_embedding.weight'), input.ids, [
      input.rows,
      contextLength,
    ]),
    eotMask: g.ops.constant({
      data: endOfTextMask(input, contextLength),
      shape: [input.rows, contextLength, 1],
    }),
  };
}

export function encodeText<T>(g: ClipGraph<T>, input: TextInput, context?: TextContext<T>): T {
  const { ops, params: p, config } = g;
  const { contextLength, width, layers, heads } = config.text;
  if (input.ids.length !== input.rows * contextLength) {
    throw new Error(
      `token ids hold ${input.ids.length} values; ${input.rows} rows need ${input.rows * contextLength}`,
    );
  }
  const tokens = g.tokens?.(input) ?? constantTokens(g, input);
  let x = tokens.embeddings;
  if (context) x = spliceContext(ops, x, context.vectors, input.rows, width);
  x = ops.add(x, p.get('positional_embedding'));
  const mask = ops.constant({ data: causalMask(contextLength), shape: [contextLength, contextLength] });
  for (let i = 0; i < layers; i++) {
    x = residualBlock(g, `transformer.resblocks.${i}`, heads, x, { mask, collect: false }).out;
  }
  x = ops.layerNorm(x, p.get('ln_final.weight'), p.get('ln_final.bias'), LAYER_NORM_EPS);
  const eot = tokens.eotMask;
  const pooled = ops.sum(ops.mul(x, eot), [1]);
  return ops.matMul(pooled, p.get('text_projection'));
}

function spliceContext<T>(ops: TensorOps<T>, x: T, vectors: T, rows: number, width: number): T {
  const shape = ops.shape(vectors);
  const m = shape[shape.length - 2] as number;
  let ctx: T;
  if (shape.length === 2) ctx = ops.mul(ones(ops, [rows, 1, 1]), ops.reshape(vectors, [1, m, width]));
  else if (shape.length === 3 && shape[0] === rows) ctx = vectors;
  else
    throw new Error(
      `text context has shape [${shape.join(', ')}]; expected [M, ${width}] or [${rows}, M, ${width}]`,
    );
  const contextLength = ops.shape(x)[1] as number;
  return ops.concat(
    [
      ops.slice(x, [0, 0, 0], [rows, 1, width]),
      ctx,
      ops.slice(x, [0, 1 + m, 0], [rows, contextLength - 1 - m, width]),
    ],
    1,
  );
}

/** exp(logit_scale) * cos(image, text): [N, T]. */
export function clipLogits<T>(ops: TensorOps<T>, imageEmbeds: T, textEmbeds: T, logitScale: number): T {
  const img = l2Normalize(ops, imageEmbeds);
  const txt = ops.transpose(l2Normalize(ops, textEmbeds), [1, 0]);
  return ops.mul(ops.matMul(img, txt), ops.scalar(Math.exp(logitScale)));
}
