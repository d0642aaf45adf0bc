import type { ClipEncoder } from '../../clip/clip-encoder.js';
import type { TextInput } from '../../clip/clip-forward.js';
import { ClipTokenizer } from '../../clip/tokenizer.js';
import { getTensor, type ClipWeights } from '../../clip/weights.js';
import { VetbenchError } from '../../errors.js';
import { contextPromptText } from '../../eval/image-classifier.js';
import type { HostTensor } from '../../tensor/host-tensor.js';

/**
 * Class-wise text context (METHODS 1.6): one set of M vectors per class, spliced into "X X ... X <class>."
 * at positions 1..M. Initialised from the token embeddings of a phrase ("a photo of a") so the tuned
 * prompts start as the usual zero-shot prompt.
 */
export function initialClassWiseContext(
  weights: ClipWeights,
  classes: number,
  m: number,
  initText: string,
): HostTensor {
  const ids = ClipTokenizer.default().tokenize(initText).slice(1, -1);
  if (ids.length !== m) {
    throw new VetbenchError(
      'cbpt-context-init',
      `the context init "${initText}" is ${ids.length} tokens long, but contextLength is ${m}`,
      `Use an init phrase of exactly ${m} tokens (e.g. "a photo of a" for 4), or set contextLength=${ids.length}.`,
    );
  }
  const table = getTensor(weights, 'token_embedding.weight');
  const width = table.shape[1] as number;
  const out = new Float32Array(classes * m * width);
  for (let c = 0; c < classes; c++) {
    ids.forEach((id, j) => out.set(table.data.subarray(id * width, (id + 1) * width), (c * m + j) * width));
  }
  return { data: out, shape: [classes, m, width] };
}

/** Token ids of the placeholder class prompts, one row per class. */
export function classPromptInput(weights: ClipWeights, classNames: readonly string[], m: number): TextInput {
  const texts = classNames.map((c) => contextPromptText(m, c));
  return {
    ids: ClipTokenizer.default().tokenizeBatch(texts, weights.config.text.contextLength),
    rows: texts.length,
  };
}

/** Class text embeddings [C, E] under the given context (forward only). */
export async function classTextEmbeddings(
  encoder: ClipEncoder,
  prompts: TextInput,
  context: HostTensor,
): Promise<HostTensor> {
  const out = await encoder.encode({ text: prompts, context, outputs: ['text_embeds'] });
  return out.text_embeds!;
}
