import type { TensorOps } from '../tensor/ops.js';
import {
  clipLogits,
  encodeImage,
  encodeText,
  type ClipGraph,
  type DeepPrompts,
  type TextInput,
} from './clip-forward.js';
import type { ClipConfig } from './config.js';

/** What `vetbench encode` and the evaluation paths compute, named as the output files. */
export type EncodeOutputName =
  | 'image_embeds'
  | 'text_embeds'
  | 'logits_per_image'
  | 'vision_cls_per_layer'
  | 'vision_last_attention'
  | 'layer4';

export const ENCODE_OUTPUTS: readonly EncodeOutputName[] = [
  'image_embeds',
  'text_embeds',
  'logits_per_image',
  'vision_cls_per_layer',
  'vision_last_attention',
];

/** What a ResNet CLIP gives instead of class tokens and attention: layer4's map [N, C, H, W] (as PyTorch). */
export const RESNET_ENCODE_OUTPUTS: readonly EncodeOutputName[] = [
  'image_embeds',
  'text_embeds',
  'logits_per_image',
  'layer4',
];

/** The outputs a model of this architecture can give. */
export function encodeOutputsFor(config: ClipConfig): readonly EncodeOutputName[] {
  return config.vision.resnet ? RESNET_ENCODE_OUTPUTS : ENCODE_OUTPUTS;
}

export interface EncodeInputs<T> {
  readonly pixels?: T;
  readonly prompts?: DeepPrompts<T>;
  readonly text?: TextInput;
  /** Text context vectors: [M, W] shared or [T, M, W] per row. */
  readonly context?: T;
}

/** Stacks [N, W] tensors into [N, K, W]. */
export function stackRows<T>(ops: TensorOps<T>, rows: readonly T[]): T {
  return ops.concat(
    rows.map((r) => {
      const [n, w] = ops.shape(r) as [number, number];
      return ops.reshape(r, [n, 1, w]);
    }),
    1,
  );
}

/** The forward program behind encode: one definition for both executors. */
export function encodeProgram<T>(
  g: ClipGraph<T>,
  inputs: EncodeInputs<T>,
  logitScale: number,
  wanted: ReadonlySet<EncodeOutputName>,
): Partial<Record<EncodeOutputName, T>> {
  const out: Partial<Record<EncodeOutputName, T>> = {};
  let imageEmbeds: T | undefined;
  let textEmbeds: T | undefined;
  if (inputs.pixels) {
    const vision = encodeImage(g, inputs.pixels, {
      ...(inputs.prompts ? { prompts: inputs.prompts } : {}),
      collectCls: wanted.has('vision_cls_per_layer'),
      collectAttention: wanted.has('vision_last_attention') ? 'last' : 'none',
    });
    imageEmbeds = vision.embeds;
    if (wanted.has('image_embeds')) out.image_embeds = vision.embeds;
    if (wanted.has('vision_cls_per_layer')) out.vision_cls_per_layer = stackRows(g.ops, vision.cls);
    if (wanted.has('vision_last_attention') && vision.attentions[0])
      out.vision_last_attention = vision.attentions[0];
    if (wanted.has('layer4') && vision.layer4) out.layer4 = g.ops.transpose(vision.layer4, [0, 3, 1, 2]);
  }
  if (inputs.text) {
    textEmbeds = encodeText(g, inputs.text, inputs.context ? { vectors: inputs.context } : undefined);
    if (wanted.has('text_embeds')) out.text_embeds = textEmbeds;
  }
  if (imageEmbeds && textEmbeds && wanted.has('logits_per_image')) {
    out.logits_per_image = clipLogits(g.ops, imageEmbeds, textEmbeds, logitScale);
  }
  return out;
}
