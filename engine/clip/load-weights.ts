import { readdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { VetbenchError } from '../errors.js';
import { readRegularTextFile } from '../util/regular-file.js';
import { formatShape, sameShape, type HostTensor } from '../tensor/host-tensor.js';
import {
  DEFAULT_HEAD_DIM,
  LAYER_NORM_EPS,
  type ClipConfig,
  type TextConfig,
  type VisionConfig,
} from './config.js';
import { readWeightsFile, type FileTensor } from './checkpoints/read-weights-file.js';
import { inferResNetVision, isResNetTensorNames } from './resnet-config.js';
import type { ClipWeights, WeightDtype, WeightNaming } from './weights.js';

/**
 * CLIP weights from safetensors (METHODS 1.2): OpenAI/open_clip names or Hugging Face `CLIPModel` names,
 * converted to canonical OpenAI names and layouts, with the architecture inferred from the shapes.
 */

export interface LoadClipWeightsOptions {
  /** A Hugging Face config.json; by default `config.json` beside the weights file is read when present. */
  readonly hfConfigPath?: string;
}

export interface NamedTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** How one canonical tensor is stored in a Hugging Face file. */
type HfSource =
  | { readonly kind: 'copy'; readonly name: string }
  | { readonly kind: 'transpose'; readonly name: string }
  /** Concatenated along dim 0 (q | k | v). */
  | { readonly kind: 'rows'; readonly names: readonly [string, string, string] };

const VISION_BLOCK = /^visual\.transformer\.resblocks\.(\d+)\.(.+)$/;
const TEXT_BLOCK = /^transformer\.resblocks\.(\d+)\.(.+)$/;
const HF_VISION_BLOCK = /^vision_model\.encoder\.layers\.(\d+)\./;
const HF_TEXT_BLOCK = /^text_model\.encoder\.layers\.(\d+)\./;

/** Buffers some exporters save beside the parameters; they carry nothing the model needs. */
const HARMLESS_EXACT = new Set(['input_resolution', 'context_length', 'vocab_size']);
// num_batches_tracked: BatchNorm's step counter (ResNet CLIP), unused in eval mode.
const HARMLESS_LAST_SEGMENT = new Set(['position_ids', 'attn_mask', 'num_batches_tracked']);

const MODULE_PREFIX = 'module.';

// Hugging Face `save_pretrained` omits values equal to the class defaults (CLIPTextConfig/CLIPVisionConfig/CLIPConfig).
const HF_VISION_DEFAULTS = {
  hidden_size: 768,
  intermediate_size: 3072,
  num_attention_heads: 12,
  num_hidden_layers: 12,
  image_size: 224,
  patch_size: 32,
  num_channels: 3,
};
const HF_TEXT_DEFAULTS = {
  hidden_size: 512,
  intermediate_size: 2048,
  num_attention_heads: 8,
  num_hidden_layers: 12,
  max_position_embeddings: 77,
  vocab_size: 49408,
};
const HF_PROJECTION_DIM_DEFAULT = 512;

const DTYPE_ORDER: readonly WeightDtype[] = ['F32', 'F16', 'BF16'];

// ---------------------------------------------------------------------------------------------------------
// Names

function isWeightDtype(dtype: string): dtype is WeightDtype {
  return (DTYPE_ORDER as readonly string[]).includes(dtype);
}

function isHarmlessBuffer(name: string): boolean {
  return HARMLESS_EXACT.has(name) || HARMLESS_LAST_SEGMENT.has(name.slice(name.lastIndexOf('.') + 1));
}

function stripModulePrefix(name: string): string {
  return name.startsWith(MODULE_PREFIX) ? name.slice(MODULE_PREFIX.length) : name;
}

function listNames(names: readonly string[], max = 12): string {
  const shown = names.slice(0, max).join(', ');
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

const NAMING_HINT =
  'Vetbench reads CLIP ViT weights with OpenAI/open_clip names (visual.conv1.weight, token_embedding.weight, ...) ' +
  'or Hugging Face CLIPModel names (vision_model.*, text_model.*). Re-save the state dict of the CLIP model itself ' +
  '(without wrapper prefixes) with safetensors.torch.save_file.';

/** Which naming a tensor list uses (a `module.` prefix is ignored); throws when it is neither or both. */
export function detectNaming(names: readonly string[]): WeightNaming {
  const stripped = names.map(stripModulePrefix).filter((n) => !isHarmlessBuffer(n));
  const huggingFace = stripped.filter(
    (n) =>
      n.startsWith('vision_model.') ||
      n.startsWith('text_model.') ||
      n === 'visual_projection.weight' ||
      n === 'text_projection.weight',
  );
  const openai = stripped.filter(
    (n) =>
      n.startsWith('visual.') ||
      n.startsWith('transformer.resblocks.') ||
      n === 'token_embedding.weight' ||
      n === 'positional_embedding' ||
      n === 'text_projection' ||
      n.startsWith('ln_final.'),
  );
  if (huggingFace.length > 0 && openai.length > 0) {
    throw new VetbenchError(
      'weights-mixed-naming',
      `the weights mix Hugging Face names (${listNames(huggingFace, 3)}) with OpenAI names (${listNames(openai, 3)})`,
      'Export the model again with one naming scheme: either the Hugging Face CLIPModel state dict or the OpenAI/open_clip one.',
    );
  }
  if (huggingFace.length > 0) return 'huggingface';
  if (openai.length > 0) return 'openai';
  throw new VetbenchError(
    'weights-unrecognised-naming',
    `no CLIP tensors recognised; the file holds ${names.length === 0 ? 'no tensors' : listNames(names, 6)}`,
    NAMING_HINT,
  );
}

/** Where a canonical (OpenAI) tensor lives in a Hugging Face CLIPModel file. */
function huggingFaceSource(canonical: string): HfSource {
  const block = VISION_BLOCK.exec(canonical) ?? TEXT_BLOCK.exec(canonical);
  if (block) {
    const tower = canonical.startsWith('visual.') ? 'vision_model' : 'text_model';
    const prefix = `${tower}.encoder.layers.${block[1]}.`;
    const suffix = block[2] ?? '';
    if (suffix === 'attn.in_proj_weight' || suffix === 'attn.in_proj_bias') {
      const param = suffix.endsWith('weight') ? 'weight' : 'bias';
      const part = (p: string) => `${prefix}self_attn.${p}_proj.${param}`;
      return { kind: 'rows', names: [part('q'), part('k'), part('v')] };
    }
    const renamed = suffix
      .replace(/^attn\.out_proj\./, 'self_attn.out_proj.')
      .replace(/^ln_1\./, 'layer_norm1.')
      .replace(/^ln_2\./, 'layer_norm2.')
      .replace(/^mlp\.c_fc\./, 'mlp.fc1.')
      .replace(/^mlp\.c_proj\./, 'mlp.fc2.');
    return { kind: 'copy', name: prefix + renamed };
  }
  const fixed: Record<string, HfSource> = {
    'visual.class_embedding': { kind: 'copy', name: 'vision_model.embeddings.class_embedding' },
    'visual.conv1.weight': { kind: 'copy', name: 'vision_model.embeddings.patch_embedding.weight' },
    'visual.positional_embedding': {
      kind: 'copy',
      name: 'vision_model.embeddings.position_embedding.weight',
    },
    'visual.proj': { kind: 'transpose', name: 'visual_projection.weight' },
    'token_embedding.weight': { kind: 'copy', name: 'text_model.embeddings.token_embedding.weight' },
    positional_embedding: { kind: 'copy', name: 'text_model.embeddings.position_embedding.weight' },
    text_projection: { kind: 'transpose', name: 'text_projection.weight' },
    logit_scale: { kind: 'copy', name: 'logit_scale' },
  };
  const direct = fixed[canonical];
  if (direct) return direct;
  const norms: [RegExp, string][] = [
    [/^visual\.ln_pre\./, 'vision_model.pre_layrnorm.'], // (sic) the Hugging Face spelling
    [/^visual\.ln_post\./, 'vision_model.post_layernorm.'],
    [/^ln_final\./, 'text_model.final_layer_norm.'],
  ];
  for (const [pattern, replacement] of norms) {
    if (pattern.test(canonical)) return { kind: 'copy', name: canonical.replace(pattern, replacement) };
  }
  throw new Error(`no Hugging Face name for canonical tensor '${canonical}'`);
}

// ---------------------------------------------------------------------------------------------------------
// Shapes

function blockShapes(prefix: string, width: number, shapes: Map<string, number[]>): void {
  shapes.set(`${prefix}attn.in_proj_weight`, [3 * width, width]);
  shapes.set(`${prefix}attn.in_proj_bias`, [3 * width]);
  shapes.set(`${prefix}attn.out_proj.weight`, [width, width]);
  shapes.set(`${prefix}attn.out_proj.bias`, [width]);
  shapes.set(`${prefix}ln_1.weight`, [width]);
  shapes.set(`${prefix}ln_1.bias`, [width]);
  shapes.set(`${prefix}ln_2.weight`, [width]);
  shapes.set(`${prefix}ln_2.bias`, [width]);
  shapes.set(`${prefix}mlp.c_fc.weight`, [4 * width, width]);
  shapes.set(`${prefix}mlp.c_fc.bias`, [4 * width]);
  shapes.set(`${prefix}mlp.c_proj.weight`, [width, 4 * width]);
  shapes.set(`${prefix}mlp.c_proj.bias`, [width]);
}

/** Every canonical tensor of a CLIP ViT with this config, in canonical order, with its shape. */
export function expectedOpenAiShapes(config: ClipConfig): Map<string, number[]> {
  const { vision: v, text: t, embedDim } = config;
  const shapes = new Map<string, number[]>();
  if (v.resnet) resnetShapes(config, shapes);
  else vitShapes(config, shapes);
  shapes.set('token_embedding.weight', [t.vocabSize, t.width]);
  shapes.set('positional_embedding', [t.contextLength, t.width]);
  for (let i = 0; i < t.layers; i++) blockShapes(`transformer.resblocks.${i}.`, t.width, shapes);
  shapes.set('ln_final.weight', [t.width]);
  shapes.set('ln_final.bias', [t.width]);
  shapes.set('text_projection', [t.width, embedDim]);
  shapes.set('logit_scale', []);
  return shapes;
}

function batchNormShapes(prefix: string, channels: number, shapes: Map<string, number[]>): void {
  for (const p of ['weight', 'bias', 'running_mean', 'running_var']) shapes.set(`${prefix}.${p}`, [channels]);
}

/** OpenAI's ModifiedResNet (clip/model.py): stem, four stages of Bottlenecks, attention pool. */
function resnetShapes(config: ClipConfig, shapes: Map<string, number[]>): void {
  const { vision: v, embedDim } = config;
  const width = v.width;
  const stem = width / 2;
  shapes.set('visual.conv1.weight', [stem, 3, 3, 3]);
  batchNormShapes('visual.bn1', stem, shapes);
  shapes.set('visual.conv2.weight', [stem, stem, 3, 3]);
  batchNormShapes('visual.bn2', stem, shapes);
  shapes.set('visual.conv3.weight', [width, stem, 3, 3]);
  batchNormShapes('visual.bn3', width, shapes);
  let inplanes = width;
  (v.resnet?.stageBlocks ?? []).forEach((blocks, stage) => {
    const planes = width * 2 ** stage;
    for (let i = 0; i < blocks; i++) {
      const prefix = `visual.layer${stage + 1}.${i}`;
      shapes.set(`${prefix}.conv1.weight`, [planes, inplanes, 1, 1]);
      batchNormShapes(`${prefix}.bn1`, planes, shapes);
      shapes.set(`${prefix}.conv2.weight`, [planes, planes, 3, 3]);
      batchNormShapes(`${prefix}.bn2`, planes, shapes);
      shapes.set(`${prefix}.conv3.weight`, [planes * 4, planes, 1, 1]);
      batchNormShapes(`${prefix}.bn3`, planes * 4, shapes);
      if (i === 0) {
        shapes.set(`${prefix}.downsample.0.weight`, [planes * 4, inplanes, 1, 1]);
        batchNormShapes(`${prefix}.downsample.1`, planes * 4, shapes);
      }
      inplanes = planes * 4;
    }
  });
  const features = width * 32;
  const grid = v.imageResolution / v.patchSize;
  shapes.set('visual.attnpool.positional_embedding', [grid * grid + 1, features]);
  for (const proj of ['k_proj', 'q_proj', 'v_proj']) {
    shapes.set(`visual.attnpool.${proj}.weight`, [features, features]);
    shapes.set(`visual.attnpool.${proj}.bias`, [features]);
  }
  shapes.set('visual.attnpool.c_proj.weight', [embedDim, features]);
  shapes.set('visual.attnpool.c_proj.bias', [embedDim]);
}

function vitShapes(config: ClipConfig, shapes: Map<string, number[]>): void {
  const { vision: v, embedDim } = config;
  const grid = v.imageResolution / v.patchSize;
  shapes.set('visual.class_embedding', [v.width]);
  shapes.set('visual.conv1.weight', [v.width, 3, v.patchSize, v.patchSize]);
  shapes.set('visual.positional_embedding', [1 + grid * grid, v.width]);
  shapes.set('visual.ln_pre.weight', [v.width]);
  shapes.set('visual.ln_pre.bias', [v.width]);
  for (let i = 0; i < v.layers; i++) blockShapes(`visual.transformer.resblocks.${i}.`, v.width, shapes);
  shapes.set('visual.ln_post.weight', [v.width]);
  shapes.set('visual.ln_post.bias', [v.width]);
  shapes.set('visual.proj', [v.width, embedDim]);
}

/** The file tensors (name -> shape) a model with this config must hold in the given naming. */
function expectedFileShapes(config: ClipConfig, naming: WeightNaming): Map<string, number[]> {
  const canonical = expectedOpenAiShapes(config);
  if (naming === 'openai') return canonical;
  const shapes = new Map<string, number[]>();
  for (const [name, shape] of canonical) {
    const source = huggingFaceSource(name);
    if (source.kind === 'copy') shapes.set(source.name, shape);
    else if (source.kind === 'transpose') shapes.set(source.name, [...shape].reverse());
    else for (const part of source.names) shapes.set(part, [(shape[0] ?? 0) / 3, ...shape.slice(1)]);
  }
  return shapes;
}

// ---------------------------------------------------------------------------------------------------------
// Hugging Face config.json

type JsonObject = Record<string, unknown>;

interface HfConfig {
  readonly path: string;
  readonly top: JsonObject;
  readonly vision: JsonObject;
  readonly text: JsonObject;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function configError(path: string, problem: string): VetbenchError {
  return new VetbenchError(
    'weights-config-invalid',
    `${path}: ${problem}`,
    'Use the config.json saved with the model by CLIPModel.save_pretrained, or remove it to infer the architecture from the weights.',
  );
}

async function readHfConfig(
  weightsPath: string,
  explicitPath: string | undefined,
  warnings: string[],
): Promise<HfConfig | undefined> {
  const path = explicitPath ?? join(dirname(weightsPath), 'config.json');
  let text: string;
  try {
    text = await readRegularTextFile(path, { what: 'model config', maxBytes: 16 * 1024 * 1024 });
  } catch (e) {
    if (explicitPath === undefined && e instanceof VetbenchError && e.code === 'file-not-found')
      return undefined;
    throw new VetbenchError(
      'weights-config-unreadable',
      `cannot read the model config ${path}: ${(e as Error).message}`,
      'Check the config.json path.',
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw configError(path, `not JSON (${(e as Error).message})`);
  }
  if (!isObject(parsed)) throw configError(path, 'not a JSON object');
  const vision = parsed.vision_config ?? parsed.vision_config_dict;
  const textConfig = parsed.text_config ?? parsed.text_config_dict;
  if (!isObject(vision) || !isObject(textConfig)) {
    // A config.json that merely sits beside the weights may belong to something else: ignore it, but say so.
    if (explicitPath !== undefined)
      throw configError(path, 'no vision_config and text_config (not a CLIPModel config)');
    warnings.push(
      `${path} is not a Hugging Face CLIPModel config (no vision_config/text_config); it was ignored.`,
    );
    return undefined;
  }
  return { path, top: parsed, vision, text: textConfig };
}

function configValue(
  config: HfConfig,
  section: 'vision' | 'text' | 'top',
  key: string,
  fallback: number,
): number {
  const value = config[section][key] ?? fallback;
  const label = section === 'top' ? key : `${section}_config.${key}`;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw configError(config.path, `${label} is ${JSON.stringify(value)}, not a number`);
  }
  return value;
}

function configString(config: HfConfig, section: 'vision' | 'text', key: string, fallback: string): string {
  const value = config[section][key];
  return typeof value === 'string' ? value : fallback;
}

// ---------------------------------------------------------------------------------------------------------
// Architecture inference

/** File shapes and names, as seen through canonical names (so inference works for both namings). */
interface ShapeView {
  readonly naming: WeightNaming;
  readonly names: readonly string[];
  /** The canonical-layout shape of a canonical tensor, or undefined if the file lacks it. */
  canonicalShape(canonical: string): number[] | undefined;
  /** The file name(s) holding a canonical tensor, for messages. */
  fileName(canonical: string): string;
}

function makeShapeView(tensors: ReadonlyMap<string, FileTensor>, naming: WeightNaming): ShapeView {
  return {
    naming,
    names: [...tensors.keys()],
    canonicalShape(canonical) {
      if (naming === 'openai') {
        const shape = tensors.get(canonical)?.shape;
        return shape && [...shape];
      }
      const source = huggingFaceSource(canonical);
      if (source.kind === 'rows') throw new Error('canonicalShape: not for q/k/v');
      const shape = tensors.get(source.name)?.shape;
      if (!shape) return undefined;
      return source.kind === 'transpose' ? [...shape].reverse() : [...shape];
    },
    fileName(canonical) {
      if (naming === 'openai') return canonical;
      const source = huggingFaceSource(canonical);
      return source.kind === 'rows' ? source.names.join(' / ') : source.name;
    },
  };
}

function layerCount(view: ShapeView, tower: 'vision' | 'text'): number {
  const pattern =
    view.naming === 'openai'
      ? tower === 'vision'
        ? VISION_BLOCK
        : TEXT_BLOCK
      : tower === 'vision'
        ? HF_VISION_BLOCK
        : HF_TEXT_BLOCK;
  const indices = new Set<number>();
  for (const name of view.names) {
    const match = pattern.exec(name);
    if (match) indices.add(Number(match[1]));
  }
  const example =
    view.naming === 'openai'
      ? tower === 'vision'
        ? 'visual.transformer.resblocks.N.*'
        : 'transformer.resblocks.N.*'
      : `${tower === 'vision' ? 'vision_model' : 'text_model'}.encoder.layers.N.*`;
  if (indices.size === 0) {
    throw new VetbenchError(
      'weights-missing-tensors',
      `the weights hold no ${tower} transformer blocks (${example})`,
      'The file is incomplete or not a CLIP ViT; export the full model state dict.',
    );
  }
  const count = Math.max(...indices) + 1;
  const absent = Array.from({ length: count }, (_, i) => i).filter((i) => !indices.has(i));
  if (absent.length > 0) {
    throw new VetbenchError(
      'weights-layers-not-contiguous',
      `${tower} blocks ${[...indices].sort((a, b) => a - b).join(', ')} are present but ${absent.join(', ')} ` +
        `${absent.length === 1 ? 'is' : 'are'} missing (${example})`,
      'The file is incomplete or was pruned; export the full model state dict.',
    );
  }
  return count;
}

function shapeError(
  view: ShapeView,
  canonical: string,
  expected: string,
  found: readonly number[],
): VetbenchError {
  return new VetbenchError(
    'weights-shape-mismatch',
    `${view.fileName(canonical)} should be ${expected}, found ${formatShape(found)}`,
    'The file is not a standard CLIP ViT (or is corrupt); export the model state dict again.',
  );
}

function requireShapes(view: ShapeView, canonicalNames: readonly string[]): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  const missing: string[] = [];
  for (const name of canonicalNames) {
    const shape = view.canonicalShape(name);
    if (shape) shapes.set(name, shape);
    else missing.push(view.fileName(name));
  }
  if (missing.length > 0) {
    throw new VetbenchError(
      'weights-missing-tensors',
      `the weights lack ${listNames(missing)}, needed to work out the architecture`,
      'The file is incomplete or not a CLIP ViT; export the full model state dict.',
    );
  }
  return shapes;
}

function headsFor(width: number, tower: 'vision' | 'text', config: HfConfig | undefined): number {
  if (config) {
    const heads = configValue(
      config,
      tower,
      'num_attention_heads',
      (tower === 'vision' ? HF_VISION_DEFAULTS : HF_TEXT_DEFAULTS).num_attention_heads,
    );
    if (!Number.isInteger(heads) || heads <= 0 || width % heads !== 0) {
      throw new VetbenchError(
        'weights-heads-invalid',
        `${config.path}: ${tower}_config.num_attention_heads = ${heads} does not divide the ${tower} width ${width}`,
        'Fix num_attention_heads in config.json (it must divide hidden_size) or use the config that came with the weights.',
      );
    }
    return heads;
  }
  if (width % DEFAULT_HEAD_DIM !== 0) {
    throw new VetbenchError(
      'weights-heads-unknown',
      `the ${tower} width ${width} is not a multiple of ${DEFAULT_HEAD_DIM}, so the number of attention heads cannot be inferred`,
      `Put the model's Hugging Face config.json (with ${tower}_config.num_attention_heads) beside the weights, or pass its path.`,
    );
  }
  return width / DEFAULT_HEAD_DIM;
}

function inferClipConfig(view: ShapeView, hfConfig: HfConfig | undefined): ClipConfig {
  if (view.naming === 'openai' && isResNetTensorNames(view.names)) {
    const { vision, embedDim } = inferResNetVision(view.names, (n) => view.canonicalShape(n));
    const shapes = requireShapes(view, ['token_embedding.weight', 'positional_embedding']);
    const [vocabSize = 0, textWidth = 0] = shapes.get('token_embedding.weight') ?? [];
    const [contextLength = 0] = shapes.get('positional_embedding') ?? [];
    return {
      embedDim,
      vision,
      text: {
        width: textWidth,
        layers: layerCount(view, 'text'),
        heads: headsFor(textWidth, 'text', undefined),
        contextLength,
        vocabSize,
      },
    };
  }
  const anchors = requireShapes(view, [
    'visual.conv1.weight',
    'visual.positional_embedding',
    'visual.proj',
    'token_embedding.weight',
    'positional_embedding',
    'text_projection',
  ]);
  const shapeOf = (name: string) => anchors.get(name) ?? [];

  const conv = shapeOf('visual.conv1.weight');
  const [visionWidth, channels, patchSize, patchWidth] = conv;
  if (conv.length !== 4 || channels !== 3 || patchSize !== patchWidth || !visionWidth || !patchSize) {
    throw shapeError(view, 'visual.conv1.weight', '[width, 3, patch, patch]', conv);
  }
  const visionPositions = shapeOf('visual.positional_embedding');
  const grid = Math.round(Math.sqrt((visionPositions[0] ?? 0) - 1));
  if (
    visionPositions.length !== 2 ||
    visionPositions[1] !== visionWidth ||
    grid < 1 ||
    1 + grid * grid !== visionPositions[0]
  ) {
    throw shapeError(view, 'visual.positional_embedding', `[1 + grid^2, ${visionWidth}]`, visionPositions);
  }
  const tokenEmbedding = shapeOf('token_embedding.weight');
  const [vocabSize, textWidth] = tokenEmbedding;
  if (tokenEmbedding.length !== 2 || !vocabSize || !textWidth) {
    throw shapeError(view, 'token_embedding.weight', '[vocab, width]', tokenEmbedding);
  }
  const textPositions = shapeOf('positional_embedding');
  const contextLength = textPositions[0];
  if (textPositions.length !== 2 || !contextLength) {
    throw shapeError(view, 'positional_embedding', `[context, ${textWidth}]`, textPositions);
  }
  const projection = shapeOf('visual.proj');
  const embedDim = projection[1];
  if (projection.length !== 2 || !embedDim) {
    // Reported as stored: Hugging Face files hold this matrix transposed.
    const stored = view.naming === 'openai' ? projection : [...projection].reverse();
    throw shapeError(view, 'visual.proj', 'a 2-D projection matrix', stored);
  }

  const measured: MeasuredConfig = {
    embedDim,
    vision: {
      width: visionWidth,
      layers: layerCount(view, 'vision'),
      patchSize,
      imageResolution: grid * patchSize,
    },
    text: { width: textWidth, layers: layerCount(view, 'text'), contextLength, vocabSize },
  };
  // Check the config's sizes first: a config for another model explains a heads problem better than the heads do.
  if (hfConfig) crossCheckConfig(measured, hfConfig);
  const { vision: v, text: t } = measured;
  return {
    embedDim,
    vision: {
      width: v.width,
      layers: v.layers,
      heads: headsFor(v.width, 'vision', hfConfig),
      patchSize: v.patchSize,
      imageResolution: v.imageResolution,
    },
    text: {
      width: t.width,
      layers: t.layers,
      heads: headsFor(t.width, 'text', hfConfig),
      contextLength: t.contextLength,
      vocabSize: t.vocabSize,
    },
  };
}

/** What the tensor shapes say; the heads come from config.json or the 64-wide default. */
interface MeasuredConfig {
  readonly embedDim: number;
  readonly vision: Omit<VisionConfig, 'heads'>;
  readonly text: Omit<TextConfig, 'heads'>;
}

function crossCheckConfig(config: MeasuredConfig, hf: HfConfig): void {
  const { vision: v, text: t } = config;
  const checks: [
    section: 'vision' | 'text' | 'top',
    key: string,
    fallback: number,
    actual: number,
    what: string,
  ][] = [
    ['vision', 'hidden_size', HF_VISION_DEFAULTS.hidden_size, v.width, 'vision width'],
    [
      'vision',
      'intermediate_size',
      HF_VISION_DEFAULTS.intermediate_size,
      4 * v.width,
      'vision MLP width (4 x width)',
    ],
    ['vision', 'num_hidden_layers', HF_VISION_DEFAULTS.num_hidden_layers, v.layers, 'vision blocks'],
    ['vision', 'image_size', HF_VISION_DEFAULTS.image_size, v.imageResolution, 'image resolution'],
    ['vision', 'patch_size', HF_VISION_DEFAULTS.patch_size, v.patchSize, 'patch size'],
    ['vision', 'num_channels', HF_VISION_DEFAULTS.num_channels, 3, 'image channels'],
    ['text', 'hidden_size', HF_TEXT_DEFAULTS.hidden_size, t.width, 'text width'],
    [
      'text',
      'intermediate_size',
      HF_TEXT_DEFAULTS.intermediate_size,
      4 * t.width,
      'text MLP width (4 x width)',
    ],
    ['text', 'num_hidden_layers', HF_TEXT_DEFAULTS.num_hidden_layers, t.layers, 'text blocks'],
    [
      'text',
      'max_position_embeddings',
      HF_TEXT_DEFAULTS.max_position_embeddings,
      t.contextLength,
      'context length',
    ],
    ['text', 'vocab_size', HF_TEXT_DEFAULTS.vocab_size, t.vocabSize, 'vocabulary size'],
    ['top', 'projection_dim', HF_PROJECTION_DIM_DEFAULT, config.embedDim, 'embedding size'],
  ];
  const disagreements: string[] = [];
  for (const [section, key, fallback, actual, what] of checks) {
    const stated = configValue(hf, section, key, fallback);
    if (stated !== actual) {
      const label = section === 'top' ? key : `${section}_config.${key}`;
      disagreements.push(`${label} = ${stated} but the weights have ${what} ${actual}`);
    }
  }
  if (disagreements.length > 0) {
    throw new VetbenchError(
      'weights-config-mismatch',
      `${hf.path} does not describe these weights: ${disagreements.join('; ')}`,
      'Use the config.json that came with these weights, or remove it to infer the architecture from the tensor shapes.',
    );
  }
}

function configWarnings(hf: HfConfig): string[] {
  const warnings: string[] = [];
  for (const tower of ['vision', 'text'] as const) {
    const activation = configString(hf, tower, 'hidden_act', 'quick_gelu');
    if (activation !== 'quick_gelu') {
      warnings.push(
        `${hf.path}: ${tower}_config.hidden_act is '${activation}' but Vetbench computes QuickGELU (METHODS 1.1); ` +
          'outputs will differ from the original model.',
      );
    }
    const eps = configValue(hf, tower, 'layer_norm_eps', LAYER_NORM_EPS);
    if (Math.abs(eps - LAYER_NORM_EPS) > 1e-12) {
      warnings.push(
        `${hf.path}: ${tower}_config.layer_norm_eps is ${eps} but Vetbench uses ${LAYER_NORM_EPS}.`,
      );
    }
  }
  return warnings;
}

// ---------------------------------------------------------------------------------------------------------
// Validation and conversion

function checkSupportedArchitecture(names: readonly string[]): void {
  const timm = names.some((n) => n.startsWith('visual.trunk.'));
  if (timm) {
    throw new VetbenchError(
      'weights-unsupported-architecture',
      'this open_clip model has a timm image tower (visual.trunk.*); only the OpenAI ViT and ModifiedResNet layouts are supported',
      'Use a CLIP in OpenAI/open_clip layout (ViT or ResNet) or Hugging Face CLIPModel format.',
    );
  }
}

function validateAgainstExpected(
  tensors: ReadonlyMap<string, FileTensor>,
  expected: ReadonlyMap<string, number[]>,
  config: ClipConfig,
): void {
  const missing = [...expected.keys()].filter((name) => !tensors.has(name));
  if (missing.length > 0) {
    throw new VetbenchError(
      'weights-missing-tensors',
      `the weights lack ${missing.length} tensor${missing.length === 1 ? '' : 's'} a CLIP ViT needs: ${listNames(missing)}`,
      'The file is incomplete; export the full model state dict (all parameters) again.',
    );
  }
  const unexpected = [...tensors.keys()].filter((name) => !expected.has(name));
  if (unexpected.length > 0) {
    throw new VetbenchError(
      'weights-unexpected-tensors',
      `the weights hold ${unexpected.length} tensor${unexpected.length === 1 ? '' : 's'} a CLIP ViT ` +
        `(${config.vision.layers}+${config.text.layers} blocks) does not have: ${listNames(unexpected)}`,
      'This is a different or modified architecture; export the plain CLIP model state dict (no extra heads or adapters).',
    );
  }
  const wrong: string[] = [];
  for (const [name, shape] of expected) {
    const found = tensors.get(name)?.shape ?? [];
    const isLogitScale = name === 'logit_scale';
    const ok = isLogitScale ? found.length === 0 || sameShape(found, [1]) : sameShape(found, shape);
    if (!ok)
      wrong.push(
        `${name}: expected ${isLogitScale ? '[] or [1]' : formatShape(shape)}, found ${formatShape(found)}`,
      );
  }
  if (wrong.length > 0) {
    throw new VetbenchError(
      'weights-shape-mismatch',
      `${wrong.length} tensor${wrong.length === 1 ? ' has' : 's have'} the wrong shape: ${listNames(wrong, 8)}`,
      'The tensors do not fit one CLIP ViT architecture; the file is corrupt or was edited. Export the model again.',
    );
  }
  const unsupported = [...tensors.values()].filter((t) => !isWeightDtype(t.dtype));
  if (unsupported.length > 0) {
    throw new VetbenchError(
      'weights-dtype',
      `weights must be F32, F16 or BF16; ${listNames(unsupported.map((t) => `${t.name} is ${t.dtype}`))}`,
      'Convert the weights: {k: v.float() for k, v in state_dict.items()} before safetensors.torch.save_file.',
    );
  }
}

function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c] as number;
  }
  return out;
}

function toCanonical(
  tensors: ReadonlyMap<string, FileTensor>,
  naming: WeightNaming,
  expected: ReadonlyMap<string, number[]>,
): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  const get = (name: string): FileTensor => {
    const tensor = tensors.get(name);
    if (!tensor) throw new Error(`toCanonical: '${name}' vanished after validation`);
    return tensor;
  };
  for (const [name, shape] of expected) {
    if (naming === 'openai') {
      out.set(name, { shape, data: get(name).data });
      continue;
    }
    const source = huggingFaceSource(name);
    if (source.kind === 'copy') {
      out.set(name, { shape, data: get(source.name).data });
    } else if (source.kind === 'transpose') {
      const stored = get(source.name);
      out.set(name, { shape, data: transpose2d(stored.data, stored.shape[0] ?? 0, stored.shape[1] ?? 0) });
    } else {
      const data = new Float32Array((shape[0] ?? 0) * (shape[1] ?? 1));
      let offset = 0;
      for (const part of source.names) {
        const partData = get(part).data;
        data.set(partData, offset);
        offset += partData.length;
      }
      out.set(name, { shape, data });
    }
  }
  return out;
}

function countNonFinite(data: Float32Array): number {
  let count = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    if (v - v !== 0) count++; // NaN - NaN and Inf - Inf are NaN; every finite value gives 0
  }
  return count;
}

/** A folder is accepted when it holds one obvious weights file (Hugging Face / open_clip layouts). */
export async function resolveWeightsFile(path: string): Promise<string> {
  let isDirectory = false;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new VetbenchError(
        'file-not-found',
        `${path} does not exist`,
        'Check the path to the .safetensors file.',
      );
    }
    throw new VetbenchError(
      'file-unreadable',
      `cannot read ${path}: ${(e as Error).message}`,
      'Check the path and the file permissions.',
    );
  }
  if (!isDirectory) return path;
  const entries = await readdir(path);
  const files = entries.filter((f) => f.endsWith('.safetensors'));
  for (const preferred of ['model.safetensors', 'open_clip_model.safetensors']) {
    if (files.includes(preferred)) return join(path, preferred);
  }
  // PyTorch checkpoints in the Hugging Face / open_clip folder layouts, read by the safe pickle reader.
  for (const preferred of ['pytorch_model.bin', 'open_clip_pytorch_model.bin']) {
    if (files.length === 0 && entries.includes(preferred)) return join(path, preferred);
  }
  if (files.length === 1 && files[0]) return join(path, files[0]);
  throw new VetbenchError(
    'weights-not-found',
    files.length === 0
      ? `${path} is a folder without a .safetensors file`
      : `${path} holds several .safetensors files (${listNames(files)})`,
    files.length === 0
      ? 'Pass the path of the .safetensors weights file (sharded checkpoints must be merged into one file first).'
      : 'Pass the path of the one you mean.',
  );
}

/** Loads CLIP ViT weights (OpenAI/open_clip or Hugging Face names) into canonical float32 tensors. */
export async function loadClipWeights(
  path: string,
  options: LoadClipWeightsOptions = {},
): Promise<ClipWeights> {
  try {
    return await loadClipWeightsFrom(path, options);
  } catch (e) {
    // Every refusal names the file the user gave (checks deep in the naming and shape code do not know it).
    if (e instanceof VetbenchError && !e.message.includes(path)) {
      throw new VetbenchError(e.code, `${path}: ${e.message}`, e.hint);
    }
    throw e;
  }
}

async function loadClipWeightsFrom(path: string, options: LoadClipWeightsOptions): Promise<ClipWeights> {
  const weightsPath = resolve(await resolveWeightsFile(path));
  const file = await readWeightsFile(weightsPath);

  const tensors = new Map<string, FileTensor>();
  for (const tensor of file.tensors) {
    const name = stripModulePrefix(tensor.name);
    if (isHarmlessBuffer(name)) continue;
    if (tensors.has(name)) {
      throw new VetbenchError(
        'weights-duplicate-tensor',
        `${weightsPath}: '${name}' is stored both with and without the 'module.' prefix`,
        'Re-save the state dict once, without the DistributedDataParallel wrapper.',
      );
    }
    tensors.set(name, tensor);
  }
  const names = [...tensors.keys()];
  checkSupportedArchitecture(names);
  const naming = detectNaming(names);

  const warnings: string[] = [];
  const hfConfig = await readHfConfig(weightsPath, options.hfConfigPath, warnings);
  if (hfConfig) warnings.push(...configWarnings(hfConfig));
  const config = inferClipConfig(makeShapeView(tensors, naming), hfConfig);
  const expected = expectedFileShapes(config, naming);
  validateAgainstExpected(tensors, expected, config);

  const canonical = toCanonical(tensors, naming, expectedOpenAiShapes(config));
  // NaN/Inf do not stop loading (a scan of a tampered model should still run), but they are reported.
  const nonFinite: string[] = [];
  const nonFiniteDetails: string[] = [];
  for (const [name, tensor] of canonical) {
    const count = countNonFinite(tensor.data);
    if (count === 0) continue;
    nonFinite.push(name);
    nonFiniteDetails.push(`${name} (${count} of ${tensor.data.length} values)`);
  }
  if (nonFinite.length > 0) {
    warnings.push(
      `${nonFinite.length} tensor${nonFinite.length === 1 ? ' holds' : 's hold'} NaN or Inf values: ${listNames(nonFiniteDetails)}. ` +
        'Outputs that depend on them will be NaN; the checkpoint may be damaged or tampered with.',
    );
  }
  const storedDtypes = new Set([...tensors.values()].map((t) => t.dtype));
  return {
    config,
    tensors: canonical,
    logitScale: canonical.get('logit_scale')?.data[0] ?? NaN,
    source: {
      path: weightsPath,
      fingerprint: file.sha256,
      format: file.format,
      naming,
      dtypes: DTYPE_ORDER.filter((d) => storedDtypes.has(d)),
      fileBytes: file.fileBytes,
      nonFiniteTensors: nonFinite,
      warnings,
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Export

/** The canonical tensors as a list in canonical order (shares memory with `weights`). */
export function toOpenAiTensors(weights: ClipWeights): NamedTensor[] {
  const out: NamedTensor[] = [];
  for (const name of expectedOpenAiShapes(weights.config).keys()) {
    const tensor = weights.tensors.get(name);
    if (!tensor) throw new Error(`toOpenAiTensors: the weights have no '${name}'`);
    out.push({ name, shape: [...tensor.shape], data: tensor.data });
  }
  return out;
}

/** The same weights under Hugging Face CLIPModel names and layouts (q/k/v split, projections transposed). */
export function toHuggingFaceNames(weights: ClipWeights): NamedTensor[] {
  const out: NamedTensor[] = [];
  for (const { name, shape, data } of toOpenAiTensors(weights)) {
    const source = huggingFaceSource(name);
    if (source.kind === 'copy') {
      out.push({ name: source.name, shape, data });
    } else if (source.kind === 'transpose') {
      const [rows = 0, cols = 0] = shape;
      out.push({ name: source.name, shape: [cols, rows], data: transpose2d(data, rows, cols) });
    } else {
      const partRows = (shape[0] ?? 0) / 3;
      const partShape = [partRows, ...shape.slice(1)];
      const partSize = data.length / 3;
      source.names.forEach((part, i) => {
        out.push({ name: part, shape: partShape, data: data.subarray(i * partSize, (i + 1) * partSize) });
      });
    }
  }
  return out;
}

/** A Hugging Face config.json describing `config` (the fields Vetbench reads), for exports and tests. */
export function huggingFaceConfigJson(config: ClipConfig, logitScale?: number): Record<string, unknown> {
  const { vision: v, text: t } = config;
  return {
    architectures: ['CLIPModel'],
    model_type: 'clip',
    projection_dim: config.embedDim,
    ...(logitScale === undefined ? {} : { logit_scale_init_value: logitScale }),
    vision_config: {
      hidden_size: v.width,
      intermediate_size: 4 * v.width,
      num_attention_heads: v.heads,
      num_hidden_layers: v.layers,
      image_size: v.imageResolution,
      patch_size: v.patchSize,
      num_channels: 3,
      hidden_act: 'quick_gelu',
      layer_norm_eps: LAYER_NORM_EPS,
      projection_dim: config.embedDim,
    },
    text_config: {
      hidden_size: t.width,
      intermediate_size: 4 * t.width,
      num_attention_heads: t.heads,
      num_hidden_layers: t.layers,
      max_position_embeddings: t.contextLength,
      vocab_size: t.vocabSize,
      hidden_act: 'quick_gelu',
      layer_norm_eps: LAYER_NORM_EPS,
      projection_dim: config.embedDim,
    },
  };
}
