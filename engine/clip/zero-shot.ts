import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VetbenchError } from '../errors.js';
import { projectRoot } from '../paths.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import type { ClipEncoder } from './clip-encoder.js';
import { ClipTokenizer } from './tokenizer.js';

/** Zero-shot classification head (METHODS 1.5): per class, the normalised mean of normalised template embeddings. */
export interface ZeroShotHead {
  readonly classNames: readonly string[];
  readonly templates: readonly string[];
  /** [C, E], unit rows. */
  readonly embeddings: HostTensor;
}

export interface PromptSet {
  readonly classes: readonly string[];
  readonly templates: readonly string[];
}

export const DEFAULT_TEMPLATE = 'a photo of a {}.';

let promptSets: Record<string, PromptSet> | null = null;

/** Class names and templates of 27 datasets (CLIP's zero-shot prompts), shipped in models/. */
export function zeroShotPromptSets(): Readonly<Record<string, PromptSet>> {
  promptSets ??= JSON.parse(
    readFileSync(join(projectRoot(), 'models', 'zero-shot-prompts.json'), 'utf8'),
  ) as Record<string, PromptSet>;
  return promptSets;
}

export function fillTemplate(template: string, className: string): string {
  return template.includes('{}') ? template.split('{}').join(className) : `${template} ${className}`;
}

function normalizeRowsInPlace(data: Float32Array, width: number): void {
  for (let r = 0; r < data.length / width; r++) {
    let s = 0;
    for (let j = 0; j < width; j++) s += (data[r * width + j] as number) ** 2;
    const inv = 1 / Math.sqrt(s);
    for (let j = 0; j < width; j++) data[r * width + j] = (data[r * width + j] as number) * inv;
  }
}

export async function buildZeroShotHead(
  encoder: ClipEncoder,
  classNames: readonly string[],
  templates: readonly string[] = [DEFAULT_TEMPLATE],
  options: { tokenizer?: ClipTokenizer; rowsPerCall?: number } = {},
): Promise<ZeroShotHead> {
  if (classNames.length === 0 || templates.length === 0) {
    throw new VetbenchError(
      'zero-shot-empty',
      'a zero-shot head needs classes and templates',
      'Pass at least one of each.',
    );
  }
  const tokenizer = options.tokenizer ?? ClipTokenizer.default();
  const { contextLength } = encoder.weights.config.text;
  const embedDim = encoder.weights.config.embedDim;
  const texts = classNames.flatMap((c) => templates.map((t) => fillTemplate(t, c)));
  const rowsPerCall = options.rowsPerCall ?? 256;
  const all = new Float32Array(texts.length * embedDim);
  for (let start = 0; start < texts.length; start += rowsPerCall) {
    const chunk = texts.slice(start, start + rowsPerCall);
    const ids = tokenizer.tokenizeBatch(chunk, contextLength);
    const out = await encoder.encode({ text: { ids, rows: chunk.length }, outputs: ['text_embeds'] });
    all.set(out.text_embeds!.data, start * embedDim);
  }
  normalizeRowsInPlace(all, embedDim);
  const head = new Float32Array(classNames.length * embedDim);
  for (let c = 0; c < classNames.length; c++) {
    for (let t = 0; t < templates.length; t++) {
      const row = (c * templates.length + t) * embedDim;
      for (let j = 0; j < embedDim; j++)
        head[c * embedDim + j] = (head[c * embedDim + j] as number) + (all[row + j] as number);
    }
  }
  normalizeRowsInPlace(head, embedDim);
  return {
    classNames: [...classNames],
    templates: [...templates],
    embeddings: { data: head, shape: [classNames.length, embedDim] },
  };
}

/** Logits [N, C] = scale * cos(image, class) and the predicted class per image. */
export function classify(
  head: ZeroShotHead,
  imageEmbeds: HostTensor,
  logitScale: number,
): { logits: HostTensor; predictions: Int32Array } {
  const [n, e] = imageEmbeds.shape as [number, number];
  const c = head.classNames.length;
  const img = Float32Array.from(imageEmbeds.data);
  normalizeRowsInPlace(img, e);
  const scale = Math.exp(logitScale);
  const logits = new Float32Array(n * c);
  const predictions = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let k = 0; k < c; k++) {
      let dot = 0;
      for (let j = 0; j < e; j++)
        dot += (img[i * e + j] as number) * (head.embeddings.data[k * e + j] as number);
      logits[i * c + k] = scale * dot;
      if ((logits[i * c + k] as number) > (logits[i * c + best] as number)) best = k;
    }
    predictions[i] = best;
  }
  return { logits: { data: logits, shape: [n, c] }, predictions };
}
