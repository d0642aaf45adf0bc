import type { ClipEncoder } from '../clip/clip-encoder.js';
import { ClipTokenizer } from '../clip/tokenizer.js';
import { buildZeroShotHead, classify, DEFAULT_TEMPLATE, type ZeroShotHead } from '../clip/zero-shot.js';
import type { HostTensor } from '../tensor/host-tensor.js';

/**
 * What evaluation needs from a model: class logits for a batch of normalised images. The plain zero-shot
 * CLIP, CLIP with deep visual prompts, with (class-wise) text context, or with a CoCoOp prompt learner all
 * answer the same question, so CA/ASR/PA are measured the same way for each (METHODS 2.3).
 */
export interface ImageClassifier {
  readonly classNames: readonly string[];
  /** Short description for reports ("zero-shot, 1 template", "visual-deep prompts from file.safetensors"). */
  readonly description: string;
  /**
   * Logits [N, C] for normalised pixels [N, 3, R, R]. `textKey` is TrojVQA's second key: prefixed to the
   * prompts of every class (the classifier caches the head per key).
   */
  logits(pixels: HostTensor, options?: { readonly textKey?: string }): Promise<HostTensor>;
}

export function argmaxRows(logits: HostTensor): Int32Array {
  const [n, c] = logits.shape as [number, number];
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let k = 1; k < c; k++)
      if ((logits.data[i * c + k] as number) > (logits.data[i * c + best] as number)) best = k;
    out[i] = best;
  }
  return out;
}

/** Zero-shot CLIP from templates, optionally with deep visual prompts in the image tower. */
export function zeroShotClassifier(
  encoder: ClipEncoder,
  classNames: readonly string[],
  options: {
    readonly templates?: readonly string[];
    readonly head?: ZeroShotHead;
    readonly imagePrompts?: { readonly depth: number; readonly tensors: HostTensor };
    readonly description?: string;
  } = {},
): ImageClassifier {
  const templates = options.head?.templates ?? options.templates ?? [DEFAULT_TEMPLATE];
  const heads = new Map<string, Promise<ZeroShotHead>>();
  if (options.head) heads.set('', Promise.resolve(options.head));
  const headFor = (key: string): Promise<ZeroShotHead> => {
    let head = heads.get(key);
    if (!head) {
      head = buildZeroShotHead(
        encoder,
        classNames,
        templates.map((t) => (key ? `${key} ${t}` : t)),
      );
      heads.set(key, head);
    }
    return head;
  };
  return {
    classNames,
    description:
      options.description ??
      `zero-shot with ${templates.length} template(s)${options.imagePrompts ? ', deep visual prompts' : ''}`,
    async logits(pixels, opts = {}) {
      const head = await headFor(opts.textKey ?? '');
      const out = await encoder.encode({
        pixels,
        ...(options.imagePrompts ? { prompts: options.imagePrompts } : {}),
        outputs: ['image_embeds'],
      });
      return classify(head, out.image_embeds!, encoder.weights.logitScale).logits;
    },
  };
}

/**
 * Text-context prompts (CoOp shared [M, W] or class-wise [C, M, W]): the class prompt is
 * "X X ... X <class>." with the M placeholder embeddings replaced by the learned vectors (METHODS 1.6).
 * TrojVQA's text key goes after the context, before the class name, so the context positions stay 1..M.
 */
export function contextClassifier(
  encoder: ClipEncoder,
  classNames: readonly string[],
  context: HostTensor,
  description: string,
): ImageClassifier {
  const m = context.shape[context.shape.length - 2] as number;
  const heads = new Map<string, Promise<ZeroShotHead>>();
  const headFor = (key: string): Promise<ZeroShotHead> => {
    let head = heads.get(key);
    if (!head) {
      head = contextHead(encoder, classNames, context, m, key);
      heads.set(key, head);
    }
    return head;
  };
  return {
    classNames,
    description,
    async logits(pixels, opts = {}) {
      const head = await headFor(opts.textKey ?? '');
      const out = await encoder.encode({ pixels, outputs: ['image_embeds'] });
      return classify(head, out.image_embeds!, encoder.weights.logitScale).logits;
    },
  };
}

/** The placeholder prompt of METHODS 1.6: M times "X", an optional key, then the class name. */
export function contextPromptText(m: number, className: string, textKey = ''): string {
  return `${Array.from({ length: m }, () => 'X').join(' ')} ${textKey ? `${textKey} ` : ''}${className}.`;
}

async function contextHead(
  encoder: ClipEncoder,
  classNames: readonly string[],
  context: HostTensor,
  m: number,
  textKey: string,
): Promise<ZeroShotHead> {
  const { contextLength } = encoder.weights.config.text;
  const texts = classNames.map((c) => contextPromptText(m, c, textKey));
  const ids = ClipTokenizer.default().tokenizeBatch(texts, contextLength);
  const out = await encoder.encode({ text: { ids, rows: texts.length }, context, outputs: ['text_embeds'] });
  const embeds = out.text_embeds!;
  const e = embeds.shape[1] as number;
  const data = Float32Array.from(embeds.data);
  for (let r = 0; r < classNames.length; r++) {
    let s = 0;
    for (let j = 0; j < e; j++) s += (data[r * e + j] as number) ** 2;
    const inv = 1 / Math.sqrt(s);
    for (let j = 0; j < e; j++) data[r * e + j] = (data[r * e + j] as number) * inv;
  }
  return {
    classNames: [...classNames],
    templates: texts,
    embeddings: { data, shape: [classNames.length, e] },
  };
}
